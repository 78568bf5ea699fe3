// Native gradient kernels for the 'tensorflow' (tfjs-node) backend.
//
// tfjs builds some gradients out of many small element-wise ops where TensorFlow has one fused native kernel:
//  - Relu's gradient is mul(dy, cast(step(x))), and tfjs-node's Step alone is isNaN + greater + ones + fill + select
//    (7 full-size ops); TensorFlow's ReluGrad does it in one pass.
//  - tfjs-layers' BatchNormalization in training runs moments (mean, squaredDifference, mean) and then the inference
//    batchNorm kernel, and differentiates all of it op by op (about 25 ops per layer); TensorFlow has
//    FusedBatchNormV3 (is_training) and FusedBatchNormGradV3.
//  - a fused conv or matmul with ReLU is differentiated through Step (step.ts).
// installNativeKernels() registers kernels that call those TF ops by name through the tfjs-node backend (the same way
// tfjs-node's own kernels do), swaps Relu's gradient, and makes tfjs-layers' BatchNormalization use the fused
// training kernel. Other backends are untouched: each replacement falls back to tfjs's own code when the active
// backend is not 'tensorflow'.
import type { GradConfig, KernelConfig, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { activeTf, type Tf } from '../../backend.ts';
import { installNativeStep } from './step.ts';

/** The slice of tfjs-node's NodeJSKernelBackend we use (see node_modules/@tensorflow/tfjs-node/dist/kernels). */
interface NodeBackend {
  binding: {
    TF_ATTR_TYPE: number;
    TF_ATTR_FLOAT: number;
    TF_ATTR_STRING: number;
    TF_ATTR_BOOL: number;
    TF_FLOAT: number;
  };
  executeSingleOutput(name: string, attrs: unknown[], inputs: TensorInfo[]): TensorInfo;
  executeMultipleOutputs(
    name: string,
    attrs: unknown[],
    inputs: TensorInfo[],
    numOutputs: number,
  ): TensorInfo[];
  disposeData(dataId: object, force?: boolean): boolean;
}

export const RELU_GRAD = 'PatchworkReluGrad';
export const FUSED_BN_TRAIN = 'PatchworkFusedBatchNormTrain';
export const FUSED_BN_GRAD = 'PatchworkFusedBatchNormGrad';
const BACKEND = 'tensorflow';

function floatAttr(b: NodeBackend) {
  return { name: 'T', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT };
}

function bnAttrs(b: NodeBackend, epsilon: number, training: boolean) {
  return [
    floatAttr(b),
    { name: 'U', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT },
    { name: 'epsilon', type: b.binding.TF_ATTR_FLOAT, value: epsilon },
    { name: 'exponential_avg_factor', type: b.binding.TF_ATTR_FLOAT, value: 1 },
    { name: 'data_format', type: b.binding.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.binding.TF_ATTR_BOOL, value: training },
  ];
}

const reluGradKernel: KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: BACKEND,
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as NodeBackend;
    return b.executeSingleOutput('ReluGrad', [floatAttr(b)], [inputs.dy!, inputs.x!]);
  },
};

/**
 * Inputs x [N,H,W,C], scale [C], offset [C]; attrs epsilon. Outputs: y, batch mean, batch variance (biased, as
 * tfjs-layers and Keras use it for the moving average), and TF's three reserve spaces for the gradient.
 */
const fusedBnTrainKernel: KernelConfig = {
  kernelName: FUSED_BN_TRAIN,
  backendName: BACKEND,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as NodeBackend;
    const epsilon = (attrs as NamedAttrMap).epsilon as number;
    const { x, scale, offset } = inputs as { x: Tensor; scale: Tensor; offset: Tensor };
    const tf = activeTf();
    // Backend calls return TensorInfos (not engine Tensors): intermediates are freed with disposeData.
    const empty = tf.tensor1d([], 'float32');
    // FusedBatchNormV3 takes mean and variance inputs too; in training they are only read when exponential_avg_factor
    // is not 1, so empty tensors do.
    const out = b.executeMultipleOutputs(
      'FusedBatchNormV3',
      bnAttrs(b, epsilon, true),
      [x, scale, offset, empty, empty],
      6,
    );
    empty.dispose();
    // Output 2 is Bessel-corrected (n / (n - 1)); undo it to get the biased variance tfjs-layers and Keras average.
    const n = x.size / x.shape[3]!;
    const factor = tf.scalar(n > 1 ? (n - 1) / n : 1);
    const unbiased = out[2]!;
    out[2] = b.executeSingleOutput('Mul', [floatAttr(b)], [unbiased, factor]);
    factor.dispose();
    b.disposeData(unbiased.dataId);
    return out;
  },
};

/** Inputs dy, x, scale and the three reserve spaces; outputs dx, dscale, doffset. */
const fusedBnGradKernel: KernelConfig = {
  kernelName: FUSED_BN_GRAD,
  backendName: BACKEND,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as NodeBackend;
    const epsilon = (attrs as NamedAttrMap).epsilon as number;
    const { dy, x, scale, r1, r2, r3 } = inputs as Record<string, TensorInfo>;
    const attrList = bnAttrs(b, epsilon, true).filter((a) => a.name !== 'exponential_avg_factor');
    const out = b.executeMultipleOutputs(
      'FusedBatchNormGradV3',
      attrList,
      [dy!, x!, scale!, r1!, r2!, r3!],
      5,
    );
    for (const unused of out.splice(3)) b.disposeData(unused.dataId);
    return out;
  },
};

const fusedBnTrainGrad: GradConfig = {
  kernelName: FUSED_BN_TRAIN,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, false, false, true, true, true],
  gradFunc: (dys, saved, attrs) => {
    const [x, scale, r1, r2, r3] = saved as Tensor[];
    const dy = (Array.isArray(dys) ? dys[0] : dys) as Tensor;
    // The batch mean and variance outputs feed only the moving averages (variable writes, no gradient); their dys
    // are the zeros tfjs fills in, so only dy of y matters.
    const epsilon = (attrs as NamedAttrMap).epsilon as number;
    const tf = activeTf();
    // One native call yields all three gradients. It runs here, not lazily in the closures: tfjs calls each closure
    // in its own tidy, which would dispose the two gradients not returned. Tensors made here live in the tidy around
    // the whole backward pass, so any that no input needs are freed with it.
    const [dx, dscale, doffset] = tf
      .engine()
      .runKernel(FUSED_BN_GRAD, { dy, x: x!, scale: scale!, r1: r1!, r2: r2!, r3: r3! }, {
        epsilon,
      } as unknown as NamedAttrMap) as Tensor[];
    return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
  },
};

interface Installed {
  reluGrad: GradConfig;
  restoreStep: () => void;
  bnCall: (this: BnLayer, inputs: unknown, kwargs: Record<string, unknown>) => unknown;
  bnProto: { call: Installed['bnCall'] };
}
let installed: Installed | undefined;

/** True when installNativeKernels() is in effect. */
export function nativeKernelsInstalled(): boolean {
  return installed !== undefined;
}

/**
 * Registers the native kernels and gradients. Returns false (and changes nothing) when the active backend is not
 * tfjs-node's 'tensorflow'. Idempotent.
 */
export function installNativeKernels(tf: Tf = activeTf()): boolean {
  if (installed) return true;
  if (tf.getBackend() !== BACKEND) return false;
  if (!tf.getKernel(RELU_GRAD, BACKEND)) tf.registerKernel(reluGradKernel);
  if (!tf.getKernel(FUSED_BN_TRAIN, BACKEND)) {
    tf.registerKernel(fusedBnTrainKernel);
    tf.registerKernel(fusedBnGradKernel);
    tf.registerGradient(fusedBnTrainGrad);
  }

  const reluGrad = tf.getGradient('Relu');
  const warn = console.warn;
  console.warn = () => {}; // registerGradient warns about the override we mean to make
  try {
    tf.registerGradient({
      kernelName: 'Relu',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        if (tf.getBackend() !== BACKEND) return reluGrad.gradFunc(dy, saved, attrs);
        const [x] = saved as Tensor[];
        return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as Tensor, x: x! }) as Tensor };
      },
    });
  } finally {
    console.warn = warn;
  }

  const bnProto = Object.getPrototypeOf(tf.layers.batchNormalization({})) as Installed['bnProto'];
  const bnCall = bnProto.call;
  bnProto.call = function (this: BnLayer, inputs: unknown, kwargs: Record<string, unknown>) {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor;
    const fusable =
      kwargs?.training === true &&
      tf.getBackend() === BACKEND &&
      x.rank === 4 &&
      x.dtype === 'float32' &&
      (this.axis === -1 || this.axis === 3) &&
      this.gamma != null &&
      this.beta != null;
    if (!fusable) return bnCall.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const [y, mean, variance] = tf
        .engine()
        .runKernel(FUSED_BN_TRAIN, { x, scale: this.gamma!.read(), offset: this.beta!.read() }, {
          epsilon: this.epsilon,
        } as unknown as NamedAttrMap) as Tensor[];
      // Moving averages exactly as tfjs-layers writes them: v - (v - batch) * (1 - momentum).
      for (const [variable, value] of [
        [this.movingMean, mean!],
        [this.movingVariance, variance!],
      ] as const) {
        tf.tidy(() => {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - this.momentum)));
        });
      }
      return y!;
    });
  };
  installed = { reluGrad, bnCall, bnProto, restoreStep: installNativeStep(tf) };
  return true;
}

interface LayerVariable {
  read(): Tensor;
  write(v: Tensor): void;
}
interface BnLayer {
  axis: number;
  epsilon: number;
  momentum: number;
  gamma?: LayerVariable;
  beta?: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

/** Puts tfjs's own Relu gradient and BatchNormalization back (for comparisons and benchmarks). */
export function uninstallNativeKernels(tf: Tf = activeTf()): void {
  if (!installed) return;
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.registerGradient(installed.reluGrad);
  } finally {
    console.warn = warn;
  }
  installed.bnProto.call = installed.bnCall;
  installed.restoreStep();
  installed = undefined;
}
