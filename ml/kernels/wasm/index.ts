// Gradient kernels for the tfjs wasm backend (@tensorflow/tfjs-backend-wasm 4.22), so that training works on it.
// docs/wasm-backend.md has the overview.
//
// Running one training step of every model in ml/models (bnAlexNetFcn + a dense head, smallResNet, the Context
// Encoder inpainter with ChannelWiseDense, its discriminator) on wasm fails only on `Conv2DBackpropFilter` (the
// gradient of conv2d with respect to its filter); every other kernel those steps use, MaxPoolGrad and
// Conv2DBackpropInput (which conv2dTranspose's forward pass also uses) included, is registered by the wasm backend.
// But wasm's own MaxPoolGrad is wrong: the dy of a window whose values are all negative does not reach that window's
// max (with all inputs negative, only element 0 of a 4x4 input gets anything), and after BatchNormalization
// (bnAlexNetFcn's pools) such windows are common: conv1's kernel gradient was off by 33% against cpu. So MaxPoolGrad is
// replaced too, and so is Conv2DBackpropInput: wasm's own is correct but a plain loop, 5-10x slower than the XNNPACK
// convolution below (uninstallWasmKernels puts the originals back).
//
// All three are composed from wasm kernels that have fast native paths, so no element loop runs in JavaScript. Measured
// on this wasm build: Conv2D (XNNPACK), 4-D Transpose, PadV2, Concat and Slice/Reshape of rank <= 4 are fast;
// StridedSlice with strides > 1 and Slice of rank 5 or 6 fall back to slow generic loops (10-50x slower), and a
// BatchMatMul with a transposed operand is 10x slower than a plain one. So:
//
// Conv2DBackpropFilter is itself a convolution, run by XNNPACK: with the input padded (or cropped) to exactly the
// rows and columns the windows touch, Hp = (OH - 1) * sh + KH and Wp = (OW - 1) * sw + KW,
//   dW[kh, kw, ci, co] = sum over n, oh, ow of xp[n, oh * sh + kh, ow * sw + kw, ci] * dy[n, oh, ow, co]
// which is conv2d(X, F) with X = xp transposed to [Cin, Hp, Wp, N] (channels become the batch, the batch becomes the
// channels), filter F = dy transposed to [OH, OW, N, Cout], stride 1, 'valid', dilation (sh, sw): the result is
// [Cin, KH, KW, Cout], transposed back to [KH, KW, Cin, Cout].
//
// Conv2DBackpropInput (also conv2dTranspose's forward pass) is the textbook transposed convolution: dy with
// stride - 1 zeros inserted between rows and columns (pad + reshape), padded by KH - 1 - padTop and KW - 1 - padLeft
// (cropped where negative) to H + KH - 1 by W + KW - 1, correlated ('valid', stride 1, XNNPACK) with the filter
// flipped in both spatial axes and transposed to [KH, KW, Cout, Cin]. The inserted zeros cost sh * sw times the
// multiplies of an exact method, but XNNPACK's speed more than makes up for it.
//
// MaxPoolGrad is in max-pool-grad.ts.
import type { KernelConfig, NamedAttrMap, Tensor, Tensor4D, TensorInfo } from '@tensorflow/tfjs';
import { activeTf } from '../../tf-instance.ts';
import { maxPoolGradOps } from './max-pool-grad.ts';
import { padOrCrop, type Pad } from './pad.ts';

export { maxPoolGradOps } from './max-pool-grad.ts';

const BACKEND = 'wasm';
/** The slice of the wasm backend this file uses (see node_modules/@tensorflow/tfjs-backend-wasm/dist/backend_wasm.js). */
interface WasmBackendRefs {
  incRef(dataId: object): void;
}

/** dW for x [N, H, W, Cin] and dy [N, OH, OW, Cout], NHWC, dilation 1 (tfjs's conv2d gradient allows no other). */
export function conv2dFilterGrad(
  x: Tensor4D,
  dy: Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): Tensor4D {
  const tf = activeTf();
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    filterShape,
    strides,
    1,
    pad as 'valid',
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const [n, h, w] = x.shape;
  const [kh, kw, , cout] = filterShape;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  if (dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== cout || dy.shape[0] !== n) {
    throw new Error(
      `Conv2DBackpropFilter (wasm): dy shape [${dy.shape.join(', ')}] does not match [${n}, ${oh}, ${ow}, ${cout}]`,
    );
  }
  return tf.tidy(() => {
    const hp = (oh - 1) * sh + kh;
    const wp = (ow - 1) * sw + kw;
    const xp = padOrCrop(x, info.padInfo.top, hp, info.padInfo.left, wp, 0);
    const xT = tf.transpose(xp, [3, 1, 2, 0]); // [Cin, Hp, Wp, N]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, N, Cout]
    const out = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]); // [Cin, KH, KW, Cout]
    return tf.transpose(out, [1, 2, 0, 3]);
  });
}

/** dx [inputShape] for dy [N, OH, OW, Cout] and filter [KH, KW, Cin, Cout]: conv2d's input gradient (and conv2dTranspose). */
export function conv2dInputGrad(
  dy: Tensor4D,
  filter: Tensor4D,
  inputShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): Tensor4D {
  const tf = activeTf();
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape,
    strides,
    1,
    pad as 'valid',
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const [n, h, w] = inputShape;
  const [kh, kw, , cout] = filter.shape;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  if (dy.shape[0] !== n || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== cout) {
    throw new Error(
      `Conv2DBackpropInput (wasm): dy shape [${dy.shape.join(', ')}] does not match [${n}, ${oh}, ${ow}, ${cout}]`,
    );
  }
  return tf.tidy(() => {
    // dy with sh - 1 zero rows after every row and sw - 1 zero columns after every column: [N, OH * sh, OW * sw, Cout].
    let spread: Tensor4D = dy;
    if (sw > 1) {
      const t = tf.pad(tf.reshape(dy, [n * oh, ow, 1, cout]), [
        [0, 0],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]);
      spread = tf.reshape(t, [n, oh, ow * sw, cout]);
    }
    if (sh > 1) {
      const t = tf.pad(tf.reshape(spread, [n, oh, 1, ow * sw * cout]), [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
      ]);
      spread = tf.reshape(t, [n, oh * sh, ow * sw, cout]);
    }
    // Padded so that a 'valid' correlation with the flipped filter gives exactly H x W (trailing zeros of the
    // spread are zeros either way, so cropping them is fine).
    const padded = padOrCrop(
      spread,
      kh - 1 - info.padInfo.top,
      h + kh - 1,
      kw - 1 - info.padInfo.left,
      w + kw - 1,
      0,
    );
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [KH, KW, Cout, Cin]
    return tf.conv2d(padded, flipped as Tensor4D, 1, 'valid');
  });
}

/** Hands a tensor made by ops inside a kernelFunc to the engine as the kernel's output (refcount moves over). */
function asOutput(backend: unknown, t: Tensor): TensorInfo {
  (backend as WasmBackendRefs).incRef(t.dataId);
  const out = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  t.dispose();
  return out;
}

function wrapInput(backend: unknown, t: TensorInfo): Tensor {
  (backend as WasmBackendRefs).incRef(t.dataId);
  return activeTf().engine().makeTensorFromTensorInfo(t);
}

const conv2dBackpropFilterKernel: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: BACKEND,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: Tensor4D; dy: Tensor4D };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as NamedAttrMap & {
      strides: number | [number, number];
      pad: Pad;
      dataFormat?: string;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      filterShape: [number, number, number, number];
    };
    if (dataFormat !== undefined && dataFormat !== 'NHWC') {
      throw new Error(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${dataFormat}`);
    }
    const tf = activeTf();
    // The inputs are TensorInfos; wrap them as engine tensors for the ops (no copy: same dataId). Each wrapper holds
    // its own backend reference, so disposing it leaves the caller's tensor alive.
    const xt = wrapInput(backend, x) as Tensor4D;
    const dyt = wrapInput(backend, dy) as Tensor4D;
    try {
      return asOutput(backend, conv2dFilterGrad(xt, dyt, filterShape, strides, pad, dimRoundingMode));
    } finally {
      xt.dispose();
      dyt.dispose();
    }
  },
};

const conv2dBackpropInputKernel: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: BACKEND,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: Tensor4D; filter: Tensor4D };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as NamedAttrMap & {
      strides: number | [number, number];
      pad: Pad;
      dataFormat?: string;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      inputShape: [number, number, number, number];
    };
    if (dataFormat !== undefined && dataFormat !== 'NHWC') {
      throw new Error(`Conv2DBackpropInput (wasm): only NHWC is supported, got ${dataFormat}`);
    }
    const d = wrapInput(backend, dy) as Tensor4D;
    const f = wrapInput(backend, filter) as Tensor4D;
    try {
      return asOutput(backend, conv2dInputGrad(d, f, inputShape, strides, pad, dimRoundingMode));
    } finally {
      d.dispose();
      f.dispose();
    }
  },
};

const maxPoolGradKernel: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: BACKEND,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, input, output } = inputs as { dy: Tensor4D; input: Tensor4D; output: Tensor4D };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as NamedAttrMap & {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: Pad;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    const wrapped = [
      wrapInput(backend, dy),
      wrapInput(backend, input),
      wrapInput(backend, output),
    ] as Tensor4D[];
    try {
      const [d, x, y] = wrapped as [Tensor4D, Tensor4D, Tensor4D];
      return asOutput(backend, maxPoolGradOps(d, x, y, filterSize, strides, pad, dimRoundingMode));
    } finally {
      for (const t of wrapped) t.dispose();
    }
  },
};

/**
 * What installWasmKernels registers for 'wasm': `replace` kernels take the place of the wasm backend's own (wrong)
 * ones; the others are only added when the wasm backend does not have them.
 */
export const WASM_KERNELS: readonly { config: KernelConfig; replace: boolean }[] = [
  { config: conv2dBackpropFilterKernel, replace: false },
  { config: conv2dBackpropInputKernel, replace: true },
  { config: maxPoolGradKernel, replace: true },
];

const installed = new Map<string, KernelConfig | undefined>(); // name -> the wasm backend's own kernel, if any

/**
 * Registers the missing training kernels for the 'wasm' backend. Idempotent. Returns false (and does nothing) when
 * the active backend is not 'wasm'; a kernel the wasm backend already registers itself is left alone.
 */
export function installWasmKernels(): boolean {
  const tf = activeTf();
  if (tf.getBackend() !== BACKEND) return false;
  for (const { config, replace } of WASM_KERNELS) {
    if (installed.has(config.kernelName)) continue;
    const own = tf.getKernel(config.kernelName, BACKEND);
    if (own && !replace) continue; // a newer wasm backend brings its own
    if (own) tf.unregisterKernel(config.kernelName, BACKEND);
    tf.registerKernel(config);
    installed.set(config.kernelName, own);
  }
  return true;
}

/** Unregisters what installWasmKernels registered (for tests). */
export function uninstallWasmKernels(): void {
  const tf = activeTf();
  for (const [name, own] of installed) {
    tf.unregisterKernel(name, BACKEND);
    if (own) tf.registerKernel(own);
  }
  installed.clear();
}

/** Names of the kernels installWasmKernels registered in this process. */
export function installedWasmKernels(): string[] {
  return [...installed.keys()];
}
