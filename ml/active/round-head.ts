// The head a labeling round fits and later rounds, the predictions and the queue reload: the default 'logistic'
// (logistic-head.ts), the original's stochastic-gradient heads 'linear' and 'mlp' on vectors (head.ts), or its 'pool'
// and 'convnet' heads on feature maps (map-head.ts), behind one surface. A vector head given feature maps trains on
// their global average pooling, and its state records the map shape so every later use pools the same way.
import { Head, type HeadState } from './head.ts';
import { LogisticHead, type LogisticHeadState } from './logistic-head.ts';
import { MapHead, type MapHeadConfig, type MapHeadState, type MapShape } from './map-head.ts';
import { averagePoolMaps } from './pool-maps.ts';
import type { LabelTable } from './table.ts';
import { Rng } from '../rng.ts';
import { checkHeadOptions, MAP_HEAD_KINDS, type HeadOptions } from './head-options.ts';
import type { TrainOptions, TrainResult } from './head-training.ts';

export { HEAD_KINDS, HEAD_OUTPUTS, checkHeadOptions, type HeadKind, type HeadOptions } from './head-options.ts';

/** A vector head's state; `poolMaps` when it was fitted on the average pooling of feature maps of that shape. */
export type VectorHeadState = (LogisticHeadState | HeadState) & { poolMaps?: MapShape };
export type RoundHeadState = VectorHeadState | MapHeadState;

export interface RoundHead {
  predict(features: Float32Array): Float32Array;
  embed(features: Float32Array): { data: Float32Array; dim: number };
  toJSON(): RoundHeadState;
  dispose(): void;
}

export interface FittedHead {
  head: RoundHead;
  /** Mean training loss over the last tenth of the steps (stochastic heads); null for the logistic head. */
  trainLoss: number | null;
  /** The loss of every training step (stochastic heads); absent for the logistic head. */
  losses?: number[];
}

const isLogistic = (state: RoundHeadState): state is LogisticHeadState & { poolMaps?: MapShape } =>
  (state as LogisticHeadState).kind === 'logistic';

/** A vector head fed the average pooling of feature maps. */
class PooledMapsHead implements RoundHead {
  constructor(
    readonly inner: RoundHead,
    readonly mapShape: MapShape,
  ) {}

  predict(features: Float32Array): Float32Array {
    return this.inner.predict(averagePoolMaps(features, this.mapShape));
  }

  embed(features: Float32Array): { data: Float32Array; dim: number } {
    return this.inner.embed(averagePoolMaps(features, this.mapShape));
  }

  toJSON(): RoundHeadState {
    return { ...(this.inner.toJSON() as VectorHeadState), poolMaps: this.mapShape };
  }

  dispose(): void {
    this.inner.dispose();
  }
}

export function loadRoundHead(state: RoundHeadState): RoundHead {
  if (MapHead.isState(state)) return MapHead.fromJSON(state);
  const head = isLogistic(state) ? LogisticHead.fromJSON(state) : Head.fromJSON(state as HeadState);
  return state.poolMaps ? new PooledMapsHead(head, state.poolMaps) : head;
}

const sameShape = (a: MapShape | undefined, b: MapShape | undefined) => JSON.stringify(a) === JSON.stringify(b);

/** The map head's configuration asked for by `options`; a previous head continues only when this is unchanged. */
function mapHeadConfig(kind: MapHeadConfig['kind'], options: HeadOptions, mapShape: MapShape, classes: number, seed: number): MapHeadConfig {
  const config: MapHeadConfig = {
    kind,
    mapShape,
    numClasses: classes,
    seed,
    pooling: options.pooling ?? 'max',
    output: options.output ?? 'sigmoid',
    learningRate: options.learningRate,
  };
  if (kind === 'convnet')
    Object.assign(config, {
      layers: options.layers ?? 1,
      filters: options.filters ?? 256,
      kernel: options.kernel ?? 1,
      separable: options.separable ?? false,
      spatialDropout: options.spatialDropout ?? 0,
    });
  return JSON.parse(JSON.stringify(config)) as MapHeadConfig;
}

const architecture = ({ seed: _seed, learningRate: _lr, ...rest }: MapHeadConfig) => JSON.stringify(rest);

/**
 * Fits the round's head on every embedded image's features [table.n, d] (d = h * w * c when `mapShape` is given) and
 * the table's labels. A stochastic-gradient head continues from `previous` when it has the same kind, input and
 * classes (and, on maps, the same architecture).
 */
export function fitRoundHead(input: {
  features: Float32Array;
  table: LabelTable;
  options: HeadOptions;
  seed: number;
  previous?: RoundHeadState & { classes?: string[] };
  mapShape?: MapShape;
}): FittedHead {
  const { table, options, seed, mapShape, previous } = input;
  checkHeadOptions(options);
  const kind = options.kind ?? 'logistic';
  const sameClasses = JSON.stringify(previous?.classes) === JSON.stringify(table.classes);
  if (MAP_HEAD_KINDS.includes(kind)) {
    if (!mapShape)
      throw new Error(
        `head ${kind} needs feature maps, but these embeddings are pooled vectors; embed with \`patchwork embed --feature-maps\` or import a rank-4 .npy (\`patchwork embed import\`), or use --head logistic, linear or mlp`,
      );
    const config = mapHeadConfig(kind as MapHeadConfig['kind'], options, mapShape, table.classes.length, seed);
    const head =
      previous && MapHead.isState(previous) && sameClasses && architecture(previous.config) === architecture(config)
        ? MapHead.fromJSON(previous)
        : MapHead.create(config);
    return fitted(head, head.train(input.features, table, trainOptions(options, seed)));
  }
  const features = mapShape ? averagePoolMaps(input.features, mapShape) : input.features;
  const wrap = (head: RoundHead): RoundHead => (mapShape ? new PooledMapsHead(head, mapShape) : head);
  if (kind === 'logistic') return { head: wrap(LogisticHead.fit(features, table, { seed })), trainLoss: null };
  const dim = features.length / Math.max(table.n, 1);
  let head: Head | undefined;
  if (
    previous &&
    !MapHead.isState(previous) &&
    !isLogistic(previous) &&
    previous.config.kind === kind &&
    previous.config.inputDim === dim &&
    sameShape(previous.poolMaps, mapShape) &&
    sameClasses
  )
    head = Head.fromJSON(previous);
  head ??= Head.create({
    kind: kind as HeadState['config']['kind'],
    inputDim: dim,
    numClasses: table.classes.length,
    hidden: options.hidden,
    seed,
    learningRate: options.learningRate,
    output: options.output,
  });
  const result = fitted(head, head.train(features, table, trainOptions(options, seed)));
  return { ...result, head: wrap(head) };
}

function trainOptions(options: HeadOptions, seed: number): TrainOptions {
  return {
    epochs: options.epochs,
    samplesPerEpoch: options.samplesPerEpoch,
    batchSize: options.batchSize,
    entropyWeight: options.entropyWeight,
    labelSmoothing: options.labelSmoothing,
    weightDecay: options.weightDecay,
    rng: Rng.fromSeed(seed),
  };
}

function fitted(head: RoundHead, result: TrainResult): FittedHead {
  const tail = result.losses.slice(-Math.max(1, Math.floor(result.losses.length / 10)));
  return { head, trainLoss: tail.reduce((a, b) => a + b, 0) / tail.length, losses: result.losses };
}
