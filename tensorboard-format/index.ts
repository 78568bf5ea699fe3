export { EventFileWriter, FILE_VERSION, nextEventFileName, type EventFileWriterOptions } from './writer.ts';
export {
  readEventFile,
  decodeEventFile,
  decodeEvent,
  type EventData,
  type EventFileContents,
  type SummaryValueData,
  type TensorData,
} from './reader.ts';
export { scalarSeries, tensorNumbers, tensorShape, type ScalarPoint } from './series.ts';
export {
  frameRecord,
  parseRecords,
  RecordCorruptError,
  type ParsedRecords,
  type TruncatedTail,
} from './record.ts';
export { crc32cOf, maskCrc, maskedCrc32c } from './crc.ts';
export {
  encodePng,
  tileImages,
  toUint8Image,
  type RawImage,
  type Uint8Image,
  type GridOptions,
} from './image.ts';
export { bucketize, DEFAULT_HISTOGRAM_BUCKETS } from './histogram.ts';
export {
  scalarValue,
  legacyScalarValue,
  textValue,
  type ScalarForm,
  imageValue,
  histogramValue,
  type SummaryValueObject,
  type HistogramBuckets,
} from './summary-values.ts';
export {
  hparamsExperimentValue,
  hparamsSessionStartValue,
  hparamsSessionEndValue,
  HPARAMS_TAGS,
  type ExperimentSpec,
  type HParamSpec,
  type MetricSpec,
  type HParamValue,
  type SessionStatus,
} from './hparams.ts';
export { writeProjector, type ProjectorEmbedding, type ProjectorResult } from './projector.ts';
