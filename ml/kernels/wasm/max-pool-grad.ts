// MaxPoolGrad for the wasm backend, composed from kernels with fast wasm paths (see index.ts for why wasm's own is
// replaced).
//
// MaxPoolGrad loops over the KH * KW window offsets (not over elements). The input, padded with -Infinity to a
// multiple of the stride, is split once into its sh * sw stride phases (phase (ri, rj) holds rows ri, ri + sh, ...,
// columns rj, rj + sw, ...; reshapes and rank-3 slices), so the values at offset (i, j) of every window are a plain
// 4-D slice of phase (i % sh, j % sw) at (i / sh, j / sw). Where that slice equals the pooled output, and no earlier
// offset in row-major window order did (the cpu backend's tie rule: the first max wins), dy goes to that offset: it
// is padded back to the phase's shape and summed per phase; the phases are then interleaved again (concat +
// reshape) and cropped to the input.
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { activeTf } from '../../tf-instance.ts';
import { padOrCrop, type Pad } from './pad.ts';

/** Phases of t [N, sh * A, sw * B, C]: phases[ri][rj] = t[:, ri::sh, rj::sw, :], each [N, A, B, C]. */
function splitPhases(t: Tensor4D, sh: number, sw: number): Tensor4D[][] {
  const tf = activeTf();
  const [n, hh, ww, c] = t.shape;
  const a = hh / sh;
  const b = ww / sw;
  const rows = sh === 1 ? [t] : tf.split(tf.reshape(t, [n * a, sh, ww * c]), sh, 1);
  return rows.map((r) => {
    if (sw === 1) return [tf.reshape(r, [n, a, b, c]) as Tensor4D];
    const cols = tf.split(tf.reshape(r, [n * a * b, sw, c]), sw, 1);
    return cols.map((q) => tf.reshape(q, [n, a, b, c]) as Tensor4D);
  });
}

/** The inverse of splitPhases. */
function mergePhases(phases: Tensor4D[][], sh: number, sw: number): Tensor4D {
  const tf = activeTf();
  const [n, a, b, c] = phases[0]![0]!.shape;
  const rows = phases.map((row) =>
    sw === 1
      ? row[0]!
      : tf.concat(
          row.map((q) => tf.reshape(q, [n * a * b, 1, c])),
          1,
        ),
  );
  const merged =
    sh === 1
      ? rows[0]!
      : tf.concat(
          rows.map((r) => tf.reshape(r, [n * a, 1, b * sw * c])),
          1,
        );
  return tf.reshape(merged, [n, a * sh, b * sw, c]);
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
  // Rows and columns of the padded input, rounded up to a multiple of the stride.
  const a = Math.ceil(Math.max((oh - 1) * sh + kh, top + h) / sh);
  const b = Math.ceil(Math.max((ow - 1) * sw + kw, left + w) / sw);
  return tf.tidy(() => {
    const phases = splitPhases(padOrCrop(x, top, a * sh, left, b * sw, -Infinity), sh, sw);
    const sums: (Tensor4D | undefined)[][] = phases.map((row) => row.map(() => undefined));
    let taken: Tensor | undefined;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const [ri, qi, rj, qj] = [i % sh, Math.floor(i / sh), j % sw, Math.floor(j / sw)];
        const before = sums[ri]![rj];
        const [nextTaken, next] = tf.tidy(() => {
          const v = tf.slice(phases[ri]![rj]!, [0, qi, qj, 0], [n, oh, ow, c]);
          const isMax = tf.equal(v, y);
          const first = taken ? tf.logicalAnd(isMax, tf.logicalNot(taken)) : isMax;
          const share = tf.mul(dy, tf.cast(first, 'float32')) as Tensor4D;
          const placed = tf.pad(share, [
            [0, 0],
            [qi, a - qi - oh],
            [qj, b - qj - ow],
            [0, 0],
          ]);
          return [
            taken ? tf.logicalOr(taken, isMax) : isMax,
            before ? (tf.add(before, placed) as Tensor4D) : placed,
          ] as [Tensor, Tensor4D];
        });
        taken?.dispose();
        before?.dispose();
        taken = nextTaken;
        sums[ri]![rj] = next;
      }
    }
    // Phases no window offset reaches (stride > filter size) get nothing.
    const filled = sums.map((row) => row.map((t) => t ?? (tf.zeros([n, a, b, c]) as Tensor4D)));
    return tf.slice(mergePhases(filled, sh, sw), [0, top, left, 0], [n, h, w, c]);
  });
}
