// Random augmentation of one image, as the original `_augment.py`, on typed arrays.
//
// Fixed order: brightness -> contrast -> hue -> saturation -> left-right flip -> up-down flip -> rot90 -> zoom,
// then one clamp to [0, 1]. Every step except the flips runs only if its own draw u ~ U[0,1) satisfies
// u <= select_prob. Deviation: on a non-square image rot90 draws k from {0, 2} so the shape never changes (the
// original could swap H and W and then fail to batch).
import { newImage, type Image } from './image.ts';
import type { AugmentParams } from './options.ts';

/** What augmentation needs from a generator; ml/rng.ts's Rng provides it. */
export interface AugmentRandom {
  /** Uniform in [0, 1). */
  next(): number;
  poisson(lambda: number): number;
}

/** Throws if the parameters cannot work on images with `channels` channels (hue and saturation need RGB). */
export function checkAugmentChannels(params: AugmentParams | null, channels: number): void {
  if (!params || channels === 3) return;
  for (const key of ['max_hue_delta', 'max_saturation_delta'] as const) {
    if (params[key] > 0) {
      throw new Error(
        `augment.${key} needs 3-channel images but num_channels is ${channels}; set ${key}: 0 or num_channels: 3`,
      );
    }
  }
}

/** Returns the augmented image; `image.data` may be modified in place and reused. */
export function augmentImage(image: Image, params: AugmentParams, rng: AugmentRandom): Image {
  const gate = () => rng.next() <= params.select_prob;
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * rng.next();
  let im = image;
  // Brightness is held back as a pending offset: contrast, flips and rot90 commute with adding a constant, so it is
  // only applied before hue/saturation/zoom or, most often, inside the final clamp, saving a pass over the image.
  let offset = 0;
  const applyOffset = () => {
    if (offset !== 0) addBrightness(im, offset);
    offset = 0;
  };
  if (params.max_brightness_delta > 0 && gate()) {
    offset = uniform(-params.max_brightness_delta, params.max_brightness_delta);
  }
  if (params.contrast_min && params.contrast_max && gate()) {
    scaleContrast(im, uniform(params.contrast_min, params.contrast_max));
  }
  if (params.max_hue_delta > 0 && gate()) {
    requireRgb(im, 'max_hue_delta');
    applyOffset();
    shiftHue(im, uniform(-params.max_hue_delta, params.max_hue_delta));
  }
  if (params.max_saturation_delta > 0 && gate()) {
    requireRgb(im, 'max_saturation_delta');
    applyOffset();
    const d = params.max_saturation_delta;
    scaleSaturation(im, uniform(1 - d, 1 + d));
  }
  // The left-right flip is held back too: unless a later step needs it done, the final clamp does it in its pass.
  let mirror = params.left_right_flip && rng.next() < 0.5;
  const applyMirror = () => {
    if (mirror) im = flipLeftRight(im);
    mirror = false;
  };
  if (params.up_down_flip && rng.next() < 0.5) {
    applyMirror();
    im = flipUpDown(im);
  }
  if (params.rot90 && gate()) {
    const u = rng.next();
    const k = im.height === im.width ? Math.floor(u * 4) : 2 * Math.floor(u * 2);
    applyMirror();
    im = rotate90(im, k);
  }
  if (params.zoom_scale > 0 && gate()) {
    applyOffset(); // the zoom's black border must stay black
    applyMirror();
    im = randomZoom(im, params.zoom_scale, rng);
  }
  if (mirror) mirrorClampUnit(im, offset);
  else clampUnit(im, offset);
  return im;
}

function requireRgb(im: Image, key: string): void {
  if (im.channels !== 3)
    throw new Error(`augment.${key} needs 3-channel images, got ${im.channels} channel(s)`);
}

export function addBrightness(im: Image, delta: number): void {
  const d = im.data;
  for (let i = 0; i < d.length; i++) d[i] += delta;
}

/** Per channel: x <- (x - mean_c) * factor + mean_c, mean over all pixels (tf.image.adjust_contrast). */
export function scaleContrast(im: Image, factor: number): void {
  const { data, channels: c } = im;
  const pixels = im.height * im.width;
  for (let k = 0; k < c; k++) {
    let sum = 0;
    for (let i = k; i < data.length; i += c) sum += data[i]!;
    const mean = sum / pixels;
    for (let i = k; i < data.length; i += c) data[i] = (data[i]! - mean) * factor + mean;
  }
}

/** RGB -> HSV -> change(h, s) -> RGB on every pixel, with TensorFlow's HSV formulas. */
function mapHsv(im: Image, change: (hsv: Float64Array) => void): void {
  const d = im.data;
  const hsv = new Float64Array(3);
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i]!,
      g = d[i + 1]!,
      b = d[i + 2]!;
    const v = Math.max(r, g, b);
    const range = v - Math.min(r, g, b);
    let h = 0;
    if (range > 0) {
      if (r === v) h = (g - b) / (6 * range);
      else if (g === v) h = (b - r) / (6 * range) + 2 / 6;
      else h = (r - g) / (6 * range) + 4 / 6;
      if (h < 0) h += 1;
    }
    hsv[0] = h;
    hsv[1] = v > 0 ? range / v : 0;
    hsv[2] = v;
    change(hsv);
    hsvToRgb(hsv[0]!, hsv[1]!, hsv[2]!, d, i);
  }
}

function hsvToRgb(h: number, s: number, v: number, out: Float32Array, at: number): void {
  const c = s * v;
  const m = v - c;
  const dh = h * 6;
  const x = c * (1 - Math.abs((dh % 2) - 1));
  let r = 0,
    g = 0,
    b = 0;
  switch (Math.floor(dh)) {
    case 0:
      r = c;
      g = x;
      break;
    case 1:
      r = x;
      g = c;
      break;
    case 2:
      g = c;
      b = x;
      break;
    case 3:
      g = x;
      b = c;
      break;
    case 4:
      r = x;
      b = c;
      break;
    case 5:
      r = c;
      b = x;
      break;
  }
  out[at] = r + m;
  out[at + 1] = g + m;
  out[at + 2] = b + m;
}

/** Hue += delta (a fraction of the colour circle), wrapping. */
export function shiftHue(im: Image, delta: number): void {
  mapHsv(im, (hsv) => {
    const h = hsv[0]! + delta;
    const wrapped = h - Math.floor(h);
    hsv[0] = wrapped < 1 ? wrapped : 0; // h = -1e-18 wraps to 1.0 in floating point
  });
}

/** Saturation *= factor, clipped to [0, 1]. */
export function scaleSaturation(im: Image, factor: number): void {
  mapHsv(im, (hsv) => {
    hsv[1] = Math.min(1, Math.max(0, hsv[1]! * factor));
  });
}

export function flipLeftRight(im: Image): Image {
  const { data: d, height: h, width: w, channels: c } = im;
  const row = w * c;
  for (let y = 0; y < h; y++) {
    for (let a = y * row, b = a + row - c; a < b; a += c, b -= c) {
      for (let k = 0; k < c; k++) {
        const t = d[a + k]!;
        d[a + k] = d[b + k]!;
        d[b + k] = t;
      }
    }
  }
  return im;
}

export function flipUpDown(im: Image): Image {
  const { data: d, height: h } = im;
  const row = im.width * im.channels;
  const tmp = new Float32Array(row);
  for (let top = 0, bottom = h - 1; top < bottom; top++, bottom--) {
    tmp.set(d.subarray(top * row, top * row + row));
    d.copyWithin(top * row, bottom * row, bottom * row + row);
    d.set(tmp, bottom * row);
  }
  return im;
}

/** k quarter-turns counter-clockwise (tf.image.rot90). */
export function rotate90(im: Image, k: number): Image {
  const turns = ((k % 4) + 4) % 4;
  if (turns === 0) return im;
  if (turns === 2) return flipUpDown(flipLeftRight(im));
  const { data: src, height: h, width: w, channels: c } = im;
  const out = newImage(w, h, c);
  const dst = out.data;
  // Output (i, j) of a counter-clockwise turn reads input (j, w-1-i); clockwise reads (h-1-j, i).
  for (let i = 0; i < w; i++) {
    for (let j = 0; j < h; j++) {
      const from = turns === 1 ? (j * w + (w - 1 - i)) * c : ((h - 1 - j) * w + i) * c;
      const to = (i * h + j) * c;
      for (let k2 = 0; k2 < c; k2++) dst[to + k2] = src[from + k2]!;
    }
  }
  return out;
}

/**
 * Pad with black by Poisson(H*scale/2) rows top and bottom and Poisson(W*scale/2) columns left and right, then crop the
 * box [ymin, ymax] x [xmin, xmax] (normalised to the padded image; mins ~ U[0, scale), maxes ~ U[1-scale, 1)) and
 * resample it bilinearly to the original size, as tf.image.crop_and_resize does.
 */
export function randomZoom(im: Image, scale: number, rng: AugmentRandom): Image {
  const { height: h, width: w } = im;
  const top = rng.poisson((h * scale) / 2);
  const bottom = rng.poisson((h * scale) / 2);
  const left = rng.poisson((w * scale) / 2);
  const right = rng.poisson((w * scale) / 2);
  const ymin = scale * rng.next();
  const xmin = scale * rng.next();
  const ymax = 1 - scale + scale * rng.next();
  const xmax = 1 - scale + scale * rng.next();
  return cropAndResize(im, { top, bottom, left, right }, [ymin, xmin, ymax, xmax]);
}

export interface Padding {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** Source taps along one axis: for each output index, two source indices (-1 = black) and the weight of the second. */
function axisTaps(
  box0: number,
  box1: number,
  outSize: number,
  paddedSize: number,
  before: number,
  size: number,
) {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  const step = outSize > 1 ? ((box1 - box0) * (paddedSize - 1)) / (outSize - 1) : 0;
  for (let o = 0; o < outSize; o++) {
    const at = outSize > 1 ? box0 * (paddedSize - 1) + o * step : 0.5 * (box0 + box1) * (paddedSize - 1);
    const lo = Math.floor(at);
    const hi = Math.ceil(at);
    const inside = (p: number) => (p - before >= 0 && p - before < size ? p - before : -1);
    i0[o] = inside(lo);
    i1[o] = inside(hi);
    frac[o] = at - lo;
  }
  return { i0, i1, frac };
}

/** Zero-pads by `pad`, crops `box` = [ymin, xmin, ymax, xmax] (normalised) and resamples to the input's own size. */
export function cropAndResize(
  im: Image,
  pad: Padding,
  box: readonly [number, number, number, number],
): Image {
  const { data: src, height: h, width: w, channels: c } = im;
  const ys = axisTaps(box[0], box[2], h, pad.top + h + pad.bottom, pad.top, h);
  const xs = axisTaps(box[1], box[3], w, pad.left + w + pad.right, pad.left, w);
  const out = newImage(h, w, c);
  const dst = out.data;
  const sample = (y: number, x: number, k: number) => (y < 0 || x < 0 ? 0 : src[(y * w + x) * c + k]!);
  for (let oy = 0; oy < h; oy++) {
    const y0 = ys.i0[oy]!,
      y1 = ys.i1[oy]!,
      fy = ys.frac[oy]!;
    for (let ox = 0; ox < w; ox++) {
      const x0 = xs.i0[ox]!,
        x1 = xs.i1[ox]!,
        fx = xs.frac[ox]!;
      const at = (oy * w + ox) * c;
      for (let k = 0; k < c; k++) {
        const topRow = sample(y0, x0, k) + (sample(y0, x1, k) - sample(y0, x0, k)) * fx;
        const bottomRow = sample(y1, x0, k) + (sample(y1, x1, k) - sample(y1, x0, k)) * fx;
        dst[at + k] = topRow + (bottomRow - topRow) * fy;
      }
    }
  }
  return out;
}

/** flipLeftRight, then clampUnit, in one pass. */
function mirrorClampUnit(im: Image, offset: number): void {
  const { data: d, height: h, width: w, channels: c } = im;
  const row = w * c;
  const clamp = (x: number) => {
    const v = x + offset;
    return v < 0 ? 0 : v > 1 ? 1 : v;
  };
  for (let y = 0; y < h; y++) {
    // a walks from the left end of the row and b from the right; they meet at the middle pixel (odd widths).
    for (let a = y * row, b = a + row - c; a <= b; a += c, b -= c) {
      for (let k = 0; k < c; k++) {
        const t = d[a + k]!;
        d[a + k] = clamp(d[b + k]!);
        if (a !== b) d[b + k] = clamp(t);
      }
    }
  }
}

/** x <- clamp(x + offset, 0, 1). */
export function clampUnit(im: Image, offset = 0): void {
  const d = im.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]! + offset;
    d[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}
