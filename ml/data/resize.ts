// Bilinear resize with tf.image.resize's semantics (half-pixel centres, no antialiasing, aspect ratio not kept), so
// images come out as the original pipeline made them. Source samples of any numeric type; output float32 scaled.

type Samples = ArrayLike<number>;

interface Taps {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float32Array;
}

function taps(inSize: number, outSize: number): Taps {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const at = Math.max(0, (o + 0.5) * scale - 0.5);
    const l = Math.min(Math.floor(at), inSize - 1);
    lo[o] = l;
    hi[o] = Math.min(l + 1, inSize - 1);
    frac[o] = at - l;
  }
  return { lo, hi, frac };
}

/**
 * Resizes HWC `src` ([inH, inW, bands]) to [outH, outW, channels], taking channel c from band c % bands (so fewer
 * bands repeat and extra bands are dropped) and multiplying by `scale` (1/norm).
 */
export function resizeBilinear(
  src: Samples,
  inH: number,
  inW: number,
  bands: number,
  outH: number,
  outW: number,
  channels: number,
  scale: number,
): Float32Array {
  const out = new Float32Array(outH * outW * channels);
  const ys = taps(inH, outH);
  const xs = taps(inW, outW);
  const bandOf = Int32Array.from({ length: channels }, (_, c) => c % bands);
  for (let oy = 0; oy < outH; oy++) {
    const r0 = ys.lo[oy]! * inW;
    const r1 = ys.hi[oy]! * inW;
    const fy = ys.frac[oy]!;
    for (let ox = 0; ox < outW; ox++) {
      const c0 = xs.lo[ox]!;
      const c1 = xs.hi[ox]!;
      const fx = xs.frac[ox]!;
      const a = (r0 + c0) * bands, b = (r0 + c1) * bands, c = (r1 + c0) * bands, d = (r1 + c1) * bands;
      const to = (oy * outW + ox) * channels;
      for (let k = 0; k < channels; k++) {
        const band = bandOf[k]!;
        const top = src[a + band]! + (src[b + band]! - src[a + band]!) * fx;
        const bottom = src[c + band]! + (src[d + band]! - src[c + band]!) * fx;
        out[to + k] = (top + (bottom - top) * fy) * scale;
      }
    }
  }
  return out;
}
