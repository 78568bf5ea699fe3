export { checkTable, emptyTable, type LabelTable } from './table.ts';
export { maskedBinaryCrossEntropy, entropyLoss, KERAS_EPSILON } from './losses.ts';
export { stratifiedSample, unlabeledRows, type StratifiedSample } from './sampling.ts';
export { Head, type HeadConfig, type HeadState, type TrainOptions, type TrainResult } from './head.ts';
export { classMetrics, meanAuc, rocAuc, type ClassMetrics } from './metrics.ts';
export {
  pickIndices,
  subsetRows,
  subsetOptions,
  sortOptions,
  QUEUE_SORTS,
  binaryEntropy,
  type PickOptions,
  type Pick,
} from './query.ts';
export { badgeSelect } from './diversity.ts';
export { balancedUncertainty } from './balanced.ts';
export { Standardizer, type ScalerState } from './scaler.ts';
export { fitLogistic, type LogisticProblem, type LogisticSolution } from './logistic-fit.ts';
export { LogisticHead, LOGISTIC_CS, FALLBACK_C, type LogisticHeadState } from './logistic-head.ts';
export { rareFirst, shortClasses, positiveCounts, RARE_SHARE } from './rare-first.ts';
export {
  fitRoundHead,
  loadRoundHead,
  checkHeadOptions,
  HEAD_KINDS,
  type HeadKind,
  type HeadOptions,
  type RoundHead,
  type RoundHeadState,
  type FittedHead,
  type VectorHeadState,
} from './round-head.ts';
export { MapHead, mapHeadShapes, type MapHeadConfig, type MapHeadState, type MapShape } from './map-head.ts';
export { averagePoolMaps, poolMaps } from './pool-maps.ts';
export { headParameterCount, type HeadInputShape } from './head-parameters.ts';
