// Bilinear resize with tf.image.resize's semantics (half-pixel centres, no antialiasing, aspect ratio not kept), so
// images come out as the original pipeline made them. Takes float32 only, so V8 compiles one fast monomorphic loop.

interface Taps {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float32Array;
}

function taps(inSize: number, outSize: number, stride: number): Taps {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const at = Math.max(0, (o + 0.5) * scale - 0.5);
    const l = Math.min(Math.floor(at), inSize - 1);
    lo[o] = l * stride;
    hi[o] = Math.min(l + 1, inSize - 1) * stride;
    frac[o] = at - l;
  }
  return { lo, hi, frac };
}

/**
 * Resizes HWC `src` ([inH, inW, bands]) to [outH, outW, channels], taking channel c from band c % bands (so fewer
 * bands repeat and extra bands are dropped) and multiplying by `scale` (1/norm).
 */
export function resizeBilinear(
  src: Float32Array,
  inH: number,
  inW: number,
  bands: number,
  outH: number,
  outW: number,
  channels: number,
  scale: number,
): Float32Array {
  const out = new Float32Array(outH * outW * channels);
  const ys = taps(inH, outH, inW * bands);
  const xs = taps(inW, outW, bands);
  const bandOf = Int32Array.from({ length: channels }, (_, c) => c % bands);
  let to = 0;
  for (let oy = 0; oy < outH; oy++) {
    const r0 = ys.lo[oy]!;
    const r1 = ys.hi[oy]!;
    const fy = ys.frac[oy]!;
    for (let ox = 0; ox < outW; ox++) {
      const c0 = xs.lo[ox]!;
      const c1 = xs.hi[ox]!;
      const fx = xs.frac[ox]!;
      for (let k = 0; k < channels; k++) {
        const band = bandOf[k]!;
        const a = src[r0 + c0 + band]!;
        const b = src[r0 + c1 + band]!;
        const c = src[r1 + c0 + band]!;
        const d = src[r1 + c1 + band]!;
        const top = a + (b - a) * fx;
        const bottom = c + (d - c) * fx;
        out[to++] = (top + (bottom - top) * fy) * scale;
      }
    }
  }
  return out;
}
