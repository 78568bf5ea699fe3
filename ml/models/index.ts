export { bnAlexNetFcn, type BnAlexNetOptions } from './bn-alexnet.ts';
export { smallResNet, type SmallResNetOptions } from './resnet.ts';
export {
  contextEncoderDecoder,
  contextEncoderDiscriminator,
  contextEncoderEncoder,
} from './context-encoder.ts';
export { assertFullyConvolutional, loadFeatureModel, modelUrl } from './load.ts';
export { BN_EPSILON, BN_MOMENTUM } from './common.ts';
