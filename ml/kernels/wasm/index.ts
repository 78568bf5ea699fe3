// Gradient kernels the tfjs wasm backend (@tensorflow/tfjs-backend-wasm 4.22) lacks, so that training works on it.
//
// Running one training step of every model in ml/models (bnAlexNetFcn + a dense head, smallResNet, the Context
// Encoder inpainter with ChannelWiseDense, its discriminator) on wasm fails only on `Conv2DBackpropFilter` (the
// gradient of conv2d with respect to its filter); every other kernel those steps use, MaxPoolGrad and
// Conv2DBackpropInput (which conv2dTranspose's forward pass also uses) included, is registered by the wasm backend.
// But wasm's own MaxPoolGrad is wrong: the dy of a window whose values are all negative does not reach that window's
// max (with all inputs negative, only element 0 of a 4x4 input gets anything), and after BatchNormalization
// (bnAlexNetFcn's pools) such windows are common: conv1's kernel gradient was off by 33% against cpu. So MaxPoolGrad is
// replaced too (uninstallWasmKernels puts the original back).
//
// Conv2DBackpropFilter here is an im2col and one matrix product, composed from wasm kernels (PadV2, StridedSlice,
// Concat, Reshape, BatchMatMul), so no element loop runs in JavaScript:
//   cols[m, (kh * KW + kw) * Cin + ci] = xPadded[n, oh * sh + kh, ow * sw + kw, ci]   with m = (n, oh, ow)
//   dW[KH * KW * Cin, Cout] = cols^T . dy[m, Cout]
// The column order is the filter's [KH, KW, Cin, Cout] layout, so dW only needs a reshape. Large inputs are split
// over the batch so the im2col buffer stays under COLS_LIMIT elements; the partial products are summed.
//
// MaxPoolGrad loops over the KH * KW window offsets (not over elements): the strided slice of the input (padded with
// -Infinity) at offset (i, j) is compared with the pooled output; the first offset in row-major window order that
// equals the max takes dy (the cpu backend's tie rule), and that share is put back at rows oh * sh + i, columns
// ow * sw + j by interleaving zeros (pad + reshape) and padding, then summed into dx.
import type { KernelConfig, NamedAttrMap, Tensor, Tensor2D, Tensor4D, TensorInfo } from '@tensorflow/tfjs';
import { activeTf } from '../../backend.ts';

const BACKEND = 'wasm';
/** Most elements of one im2col buffer (64 MiB of float32); bigger batches are processed in chunks. */
export const COLS_LIMIT = 16 * 1024 * 1024;

/** The slice of the wasm backend this file uses (see node_modules/@tensorflow/tfjs-backend-wasm/dist/backend_wasm.js). */
interface WasmBackendRefs {
  incRef(dataId: object): void;
}

type Pad = 'valid' | 'same' | number | number[][];

/** dW for x [N, H, W, Cin] and dy [N, OH, OW, Cout], NHWC, dilation 1 (tfjs's conv2d gradient allows no other). */
export function conv2dFilterGrad(
  x: Tensor4D,
  dy: Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
  colsLimit = COLS_LIMIT,
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
  const [n, h, w, cin] = x.shape;
  const [kh, kw, , cout] = filterShape;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  if (dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== cout || dy.shape[0] !== n) {
    throw new Error(
      `Conv2DBackpropFilter (wasm): dy shape [${dy.shape.join(', ')}] does not match [${n}, ${oh}, ${ow}, ${cout}]`,
    );
  }
  return tf.tidy(() => {
    // Pad so that every window lies inside: rows top .. top + (oh - 1) * sh + kh - 1 of the padded input.
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const needH = (oh - 1) * sh + kh;
    const needW = (ow - 1) * sw + kw;
    const bottom = Math.max(0, needH - h - top);
    const right = Math.max(0, needW - w - left);
    const xp =
      top || bottom || left || right
        ? tf.pad(x, [
            [0, 0],
            [top, bottom],
            [left, right],
            [0, 0],
          ])
        : x;
    const perItem = oh * ow * kh * kw * cin;
    const chunk = Math.max(1, Math.min(n, Math.floor(colsLimit / Math.max(1, perItem))));
    let sum: Tensor2D | undefined;
    for (let start = 0; start < n; start += chunk) {
      const b = Math.min(chunk, n - start);
      const part = tf.tidy(() => {
        const slices: Tensor4D[] = [];
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            slices.push(
              tf.stridedSlice(
                xp,
                [start, i, j, 0],
                [start + b, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, cin],
                [1, sh, sw, 1],
              ) as Tensor4D,
            );
          }
        }
        const cols = tf.reshape(slices.length === 1 ? slices[0]! : tf.concat(slices, 3), [
          b * oh * ow,
          kh * kw * cin,
        ]);
        const dyPart = b === n ? dy : tf.slice(dy, [start, 0, 0, 0], [b, oh, ow, cout]);
        return tf.matMul(
          cols as Tensor2D,
          tf.reshape(dyPart, [b * oh * ow, cout]) as Tensor2D,
          true,
          false,
        ) as Tensor2D;
      });
      if (sum === undefined) sum = part;
      else {
        const next = tf.add(sum, part) as Tensor2D;
        sum.dispose();
        part.dispose();
        sum = next;
      }
    }
    return tf.reshape(sum!, filterShape);
  });
}

/** dx of maxPool(x) given dy and the pool's output y; NHWC, dilation 1 (tfjs's maxPool has no other). */
export function maxPoolGradOps(
  dy: Tensor4D,
  x: Tensor4D,
  y: Tensor4D,
  filterSize: number | [number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): Tensor4D {
  const tf = activeTf();
  const info = tf.backend_util.computePool2DInfo(
    x.shape,
    filterSize,
    strides,
    1,
    pad as 'valid',
    dimRoundingMode,
  );
  const [n, h, w, c] = x.shape;
  const {
    outHeight: oh,
    outWidth: ow,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: kh,
    filterWidth: kw,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const hp = Math.max((oh - 1) * sh + kh, top + h);
  const wp = Math.max((ow - 1) * sw + kw, left + w);
  const spanH = (oh - 1) * sh + 1;
  const spanW = (ow - 1) * sw + 1;
  return tf.tidy(() => {
    const xp = tf.pad(
      x,
      [
        [0, 0],
        [top, hp - h - top],
        [left, wp - w - left],
        [0, 0],
      ],
      -Infinity,
    );
    let taken: Tensor | undefined;
    let sum: Tensor4D | undefined;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const [nextTaken, next] = tf.tidy(() => {
          const v = tf.stridedSlice(xp, [0, i, j, 0], [n, i + spanH, j + spanW, c], [1, sh, sw, 1]);
          const isMax = tf.equal(v, y);
          const first = taken ? tf.logicalAnd(isMax, tf.logicalNot(taken)) : isMax;
          const share = tf.mul(dy, tf.cast(first, 'float32'));
          // Interleave zeros: [n, oh, ow, c] -> [n, spanH, spanW, c] with the shares at multiples of the stride.
          let spread: Tensor = share;
          if (sw > 1) {
            spread = tf.pad(tf.reshape(spread, [n * oh, ow, 1, c]), [
              [0, 0],
              [0, 0],
              [0, sw - 1],
              [0, 0],
            ]);
            spread = tf.slice(tf.reshape(spread, [n, oh, ow * sw, c]), [0, 0, 0, 0], [n, oh, spanW, c]);
          }
          if (sh > 1) {
            spread = tf.pad(tf.reshape(spread, [n, oh, 1, spanW * c]), [
              [0, 0],
              [0, 0],
              [0, sh - 1],
              [0, 0],
            ]);
            spread = tf.slice(tf.reshape(spread, [n, oh * sh, spanW, c]), [0, 0, 0, 0], [n, spanH, spanW, c]);
          }
          const placed = tf.pad(spread as Tensor4D, [
            [0, 0],
            [i, hp - i - spanH],
            [j, wp - j - spanW],
            [0, 0],
          ]);
          return [
            taken ? tf.logicalOr(taken, isMax) : isMax,
            sum ? (tf.add(sum, placed) as Tensor4D) : placed,
          ] as [Tensor, Tensor4D];
        });
        taken?.dispose();
        sum?.dispose();
        taken = nextTaken;
        sum = next;
      }
    }
    return tf.slice(sum!, [0, top, left, 0], [n, h, w, c]);
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
