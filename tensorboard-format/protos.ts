// Loads the TensorBoard .proto files in schemas/tensorboard at runtime (no generated code).
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const schemaDir = fileURLToPath(new URL('./proto/', import.meta.url));
const files = [
  'event.proto',
  'summary.proto',
  'tensor.proto',
  'plugins.proto',
  'hparams.proto',
  'projector_config.proto',
];

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  // keepCase: field names stay snake_case as in the .proto files (and as TensorBoard's docs spell them).
  root.loadSync(
    files.map((f) => schemaDir + f),
    { keepCase: true },
  );
  root.resolveAll();
  return root;
}

export const protoRoot = loadRoot();

export const EventProto = protoRoot.lookupType('tensorboard.Event');
export const SummaryProto = protoRoot.lookupType('tensorboard.Summary');
export const TensorProtoType = protoRoot.lookupType('tensorboard.TensorProto');
export const HParamsPluginDataProto = protoRoot.lookupType('tensorboard.hparams.HParamsPluginData');
export const ProjectorConfigProto = protoRoot.lookupType('tensorboard.ProjectorConfig');

/** TensorFlow DataType numbers used in TensorProto.dtype. */
export const DT = {
  FLOAT: 1,
  DOUBLE: 2,
  INT32: 3,
  UINT8: 4,
  STRING: 7,
  INT64: 9,
  BOOL: 10,
  HALF: 19,
} as const;
