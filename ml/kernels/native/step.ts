// tfjs differentiates a fused conv/matmul with ReLU (every tfjs-layers Conv2D or Dense with activation 'relu') as
// dy * step(y), and tfjs-node's Step is isNaN + greater + ones + fill + select over the whole tensor. For alpha 0,
// step(x) is sign(relu(x)) (1 above 0, 0 at or below, NaN for NaN): two native element-wise ops.
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../../backend.ts';

interface NodeBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: unknown[], inputs: TensorInfo[]): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

const BACKEND = 'tensorflow';

/** Replaces Step on tfjs-node for float inputs with alpha 0; returns a function that puts tfjs-node's kernel back. */
export function installNativeStep(tf: Tf): () => void {
  const original = tf.getKernel('Step', BACKEND);
  if (!original) return () => {};
  const kernel: KernelConfig = {
    kernelName: 'Step',
    backendName: BACKEND,
    kernelFunc: (args) => {
      const x = args.inputs.x as TensorInfo;
      if (((args.attrs as NamedAttrMap).alpha ?? 0) !== 0 || x.dtype !== 'float32') return original.kernelFunc(args);
      const b = args.backend as unknown as NodeBackend;
      const attrs = [{ name: 'T', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT }];
      const relu = b.executeSingleOutput('Relu', attrs, [x]);
      const sign = b.executeSingleOutput('Sign', attrs, [relu]);
      b.disposeData(relu.dataId);
      return sign;
    },
  };
  const register = (config: KernelConfig) => {
    tf.unregisterKernel('Step', BACKEND);
    tf.registerKernel(config);
  };
  register(kernel);
  return () => register(original);
}
