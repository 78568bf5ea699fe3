// The Context Encoder's channel-wise fully connected layer (Pathak et al. 2016), as a tfjs custom layer.
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { activeTf, type Tf } from '../backend.ts';

export const CHANNEL_WISE_DENSE = 'ChannelWiseDense';
type LayerClass = new (args?: { name?: string; seed?: number }) => InstanceType<Tf['layers']['Layer']>;
const layerClasses = new WeakMap<object, LayerClass>();

/**
 * Defines (once per tfjs namespace) and registers the ChannelWiseDense layer class: per channel c, a dense map over
 * the h*w positions, out[b, :, c] = relu(x[b, :, c] . W[c]) with W [C, hw, hw] ~ U(-0.05, 0.05), no bias. Call before
 * loading a saved model that contains one (creating a ContextEncoderTrainer also calls it).
 */
export function registerChannelWiseDense(): LayerClass {
  const tf = activeTf();
  const known = layerClasses.get(tf);
  if (known) return known;
  class ChannelWiseDense extends tf.layers.Layer {
    static className = CHANNEL_WISE_DENSE;
    private kernel?: ReturnType<InstanceType<Tf['layers']['Layer']>['addWeight']>;
    private readonly seed?: number;

    constructor(args: { name?: string; seed?: number } = {}) {
      super(args);
      this.seed = args.seed;
    }

    override build(inputShape: (number | null)[] | (number | null)[][]): void {
      const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
      const [, h, w, c] = shape;
      if (shape.length !== 4 || h == null || w == null || c == null) {
        throw new Error(`ChannelWiseDense needs a static [batch, h, w, c] input, got [${shape.join(', ')}]`);
      }
      const hw = h * w;
      this.kernel = this.addWeight(
        'kernel',
        [c, hw, hw],
        'float32',
        tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: this.seed }),
      );
      this.built = true;
    }

    override computeOutputShape(inputShape: (number | null)[] | (number | null)[][]) {
      return inputShape;
    }

    override call(inputs: Tensor | Tensor[]): Tensor {
      return tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as Tensor4D;
        const [b, h, w, c] = x.shape;
        const perChannel = tf.transpose(tf.reshape(x, [b, h * w, c]), [2, 0, 1]); // [c, b, hw]
        const y = tf.matMul(perChannel, this.kernel!.read()); // [c, b, hw]
        return tf.relu(tf.reshape(tf.transpose(y, [1, 2, 0]), [b, h, w, c]));
      });
    }

    override getConfig() {
      const config = super.getConfig();
      if (this.seed !== undefined) config.seed = this.seed;
      return config;
    }
  }
  tf.serialization.registerClass(ChannelWiseDense);
  layerClasses.set(tf, ChannelWiseDense as unknown as LayerClass);
  return ChannelWiseDense as unknown as LayerClass;
}

export function channelWiseDense(args: { name?: string; seed?: number } = {}) {
  const Layer = registerChannelWiseDense();
  return new Layer(args);
}
