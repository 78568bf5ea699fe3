// Bilinear resize with tf.image.resize's semantics (half-pixel centres, no antialiasing, aspect ratio not kept), so
// images come out as the original pipeline made them.

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

export type Samples = Uint8Array | Float32Array;

/**
 * Resizes HWC `src` ([inH, inW, bands]) to [outH, outW, channels], taking channel c from band c % bands (so fewer
 * bands repeat and extra bands are dropped) and multiplying by `scale` (1/norm). Writes into `into` when given
 * (outH * outW * channels long), e.g. the image's place in its batch.
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
  into?: Float32Array,
): Float32Array {
  const out = into ?? new Float32Array(outH * outW * channels);
  // A grey image repeated into several channels is resized once and then copied.
  if (bands === 1 && channels > 1) return repeatChannel(resizeBilinear(src, inH, inW, 1, outH, outW, 1, scale), out);
  const ys = taps(inH, outH, inW * bands);
  const xs = taps(inW, outW, bands);
  const bandOf = Int32Array.from({ length: channels }, (_, c) => c % bands);
  // Two copies of one loop: V8 keeps a function fast only while it sees a single array type, and 8-bit images (most
  // files) are cheaper to take from sharp as bytes than as floats.
  if (src instanceof Uint8Array && outH > inH) resizeBytesEnlarging(src, ys, xs, bandOf, out, outW, scale);
  else if (src instanceof Uint8Array && bands === channels && (channels === 1 || channels === 3)) {
    resizeBytesUnrolled(src, ys, xs, channels, out, outW, scale);
  } else if (src instanceof Uint8Array) resizeBytes(src, ys, xs, bandOf, out, outW, scale);
  else resizeFloats(src, ys, xs, bandOf, out, outW, scale);
  return out;
}

function resizeBytes(
  src: Uint8Array,
  ys: Taps,
  xs: Taps,
  bandOf: Int32Array,
  out: Float32Array,
  outW: number,
  scale: number,
) {
  const channels = bandOf.length;
  let to = 0;
  for (let oy = 0; oy < ys.lo.length; oy++) {
    const r0 = ys.lo[oy]!,
      r1 = ys.hi[oy]!,
      fy = ys.frac[oy]!;
    for (let ox = 0; ox < outW; ox++) {
      const c0 = xs.lo[ox]!,
        c1 = xs.hi[ox]!,
        fx = xs.frac[ox]!;
      for (let k = 0; k < channels; k++) {
        const band = bandOf[k]!;
        const a = src[r0 + c0 + band]!,
          b = src[r0 + c1 + band]!,
          c = src[r1 + c0 + band]!,
          d = src[r1 + c1 + band]!;
        const top = a + (b - a) * fx;
        const bottom = c + (d - c) * fx;
        out[to++] = (top + (bottom - top) * fy) * scale;
      }
    }
  }
}

// jscpd:ignore-start (the second copy of the loop, kept on purpose: see resizeBilinear)
function resizeFloats(
  src: Float32Array,
  ys: Taps,
  xs: Taps,
  bandOf: Int32Array,
  out: Float32Array,
  outW: number,
  scale: number,
) {
  const channels = bandOf.length;
  let to = 0;
  for (let oy = 0; oy < ys.lo.length; oy++) {
    const r0 = ys.lo[oy]!,
      r1 = ys.hi[oy]!,
      fy = ys.frac[oy]!;
    for (let ox = 0; ox < outW; ox++) {
      const c0 = xs.lo[ox]!,
        c1 = xs.hi[ox]!,
        fx = xs.frac[ox]!;
      for (let k = 0; k < channels; k++) {
        const band = bandOf[k]!;
        const a = src[r0 + c0 + band]!,
          b = src[r0 + c1 + band]!,
          c = src[r1 + c0 + band]!,
          d = src[r1 + c1 + band]!;
        const top = a + (b - a) * fx;
        const bottom = c + (d - c) * fx;
        out[to++] = (top + (bottom - top) * fy) * scale;
      }
    }
  }
}

// jscpd:ignore-end

/** The common case (8-bit grey or RGB, channels kept as they are), unrolled: about 1.5x faster than resizeBytes. */
function resizeBytesUnrolled(
  src: Uint8Array,
  ys: Taps,
  xs: Taps,
  channels: 1 | 3,
  out: Float32Array,
  outW: number,
  scale: number,
) {
  let to = 0;
  for (let oy = 0; oy < ys.lo.length; oy++) {
    const r0 = ys.lo[oy]!,
      r1 = ys.hi[oy]!,
      fy = ys.frac[oy]!;
    for (let ox = 0; ox < outW; ox++) {
      const fx = xs.frac[ox]!;
      const w00 = (1 - fy) * (1 - fx) * scale,
        w01 = (1 - fy) * fx * scale;
      const w10 = fy * (1 - fx) * scale,
        w11 = fy * fx * scale;
      const a = r0 + xs.lo[ox]!,
        b = r0 + xs.hi[ox]!,
        c = r1 + xs.lo[ox]!,
        d = r1 + xs.hi[ox]!;
      out[to] = src[a]! * w00 + src[b]! * w01 + src[c]! * w10 + src[d]! * w11;
      if (channels === 3) {
        out[to + 1] = src[a + 1]! * w00 + src[b + 1]! * w01 + src[c + 1]! * w10 + src[d + 1]! * w11;
        out[to + 2] = src[a + 2]! * w00 + src[b + 2]! * w01 + src[c + 2]! * w10 + src[d + 2]! * w11;
      }
      to += channels;
    }
  }
}

function repeatChannel(grey: Float32Array, out: Float32Array): Float32Array {
  const channels = out.length / grey.length;
  for (let p = 0, to = 0; p < grey.length; p++) {
    const v = grey[p]!;
    for (let c = 0; c < channels; c++) out[to++] = v;
  }
  return out;
}

/**
 * Enlarging along y, separably: every source row an output row needs is interpolated along x once (the last two are
 * kept, since consecutive output rows share them), then two such rows are blended along y. About half the work of
 * four taps per output sample when rows are reused.
 */
function resizeBytesEnlarging(
  src: Uint8Array,
  ys: Taps,
  xs: Taps,
  bandOf: Int32Array,
  out: Float32Array,
  outW: number,
  scale: number,
) {
  const rowLength = outW * bandOf.length;
  let upper = new Float64Array(rowLength);
  let lower = new Float64Array(rowLength);
  let upperRow = -1;
  let lowerRow = -1;
  let to = 0;
  for (let oy = 0; oy < ys.lo.length; oy++) {
    const r0 = ys.lo[oy]!,
      r1 = ys.hi[oy]!,
      fy = ys.frac[oy]!;
    if (r0 !== upperRow && r0 === lowerRow) {
      [upper, lower] = [lower, upper];
      [upperRow, lowerRow] = [lowerRow, upperRow];
    }
    if (r0 !== upperRow) interpolateRow(src, (upperRow = r0), xs, bandOf, upper);
    if (r1 !== lowerRow) interpolateRow(src, (lowerRow = r1), xs, bandOf, lower);
    for (let i = 0; i < rowLength; i++) {
      const u = upper[i]!;
      out[to++] = (u + (lower[i]! - u) * fy) * scale;
    }
  }
}

/** The source row starting at `row` interpolated along x into `line` (outW x channels). */
function interpolateRow(src: Uint8Array, row: number, xs: Taps, bandOf: Int32Array, line: Float64Array) {
  const channels = bandOf.length;
  for (let ox = 0, i = 0; ox < xs.lo.length; ox++) {
    const l = row + xs.lo[ox]!,
      h = row + xs.hi[ox]!,
      f = xs.frac[ox]!;
    for (let k = 0; k < channels; k++, i++) {
      const a = src[l + bandOf[k]!]!;
      line[i] = a + (src[h + bandOf[k]!]! - a) * f;
    }
  }
}
