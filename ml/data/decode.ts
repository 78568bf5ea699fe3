// Bytes -> float32 HWC image at `imshape`. sharp (libvips) decodes at the file's own size and sample depth; the resize
// is resize.ts, bilinear exactly as the original's tf.image.resize (half-pixel centres, no antialiasing, stretched).
//
// Differences from the original on purpose:
// - `norm` divides every format (the original divided PNG/JPEG/GIF by 255 whatever `norm` said, and TIFF twice).
// - TIFFs are not transposed (the original's GDAL path swapped rows and columns).
// - A 1-channel image with num_channels > 1 is an error unless single_channel is set (the original silently kept one
//   channel and then could not batch it with RGB images).
// JPEG shrink-on-load (DCT scaling) is opt-in (`jpeg_shrink_on_load`): sharp offers it only inside its own resize,
// whose kernels do not match tf.image.resize, so by default JPEGs decode at full size and batches stay exact. With the
// option, a JPEG larger than imshape on both axes is resized by libvips (linear kernel, after shrink-on-load where
// the factor allows it: sharp leaves an integer factor f to a reduce after a DCT shrink of f / 2, so an exact 2x
// shrink gets none) and comes out a little smoother than tf.image.resize would make it.
// EXIF orientation is ignored, as tf.io.decode_jpeg ignores it.
import sharp from 'sharp';
import type { Image } from './image.ts';
import { decodeSimplePng, type RawPixels } from './png.ts';
import { resizeBilinear } from './resize.ts';

export interface DecodeOptions {
  imshape: readonly [number, number];
  num_channels: number;
  norm: number;
  single_channel: boolean;
  jpeg_shrink_on_load?: boolean;
}

export class DecodeError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'DecodeError';
  }
}

/** `greyExpanded`: sharp will turn band 0 into three equal bands (b-w -> sRGB); drop the two copies afterwards. */
type Plan = { colourspace?: string; greyExpanded?: boolean; eightBit?: boolean };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function isPng(bytes: Uint8Array): boolean {
  return bytes.length > 33 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * How to ask sharp for the image's own sample values. By default sharp converts to 8-bit sRGB on output, which would
 * scale 16-bit images down by 257 and, for 8-bit images with more than one band tagged "b-w" (how libtiff reads
 * multi-band min-is-black TIFFs), keep only band 0. So: keep the image's own interpretation and depth.
 * PNG and JPEG are planned from their headers; anything else (TIFF, ...) costs one extra metadata call.
 */
async function plan(bytes: Uint8Array): Promise<Plan> {
  // sharp's default output is sRGB, so grey images must ask for b-w to stay one channel. CMYK JPEGs become sRGB.
  if (isJpeg(bytes))
    return jpegFrame(bytes)?.components === 1 ? { colourspace: 'b-w', eightBit: true } : { eightBit: true };
  if (isPng(bytes)) {
    const grey = bytes[25] === 0 || bytes[25] === 4;
    if (bytes[24] === 16) return { colourspace: grey ? 'grey16' : 'rgb16' };
    return grey ? { colourspace: 'b-w', eightBit: true } : { eightBit: true };
  }
  const meta = await sharp(bytes).metadata();
  const space = meta.space ?? 'srgb';
  const bands = meta.channels ?? 1;
  const eightBit = meta.depth === 'uchar';
  if (space === 'cmyk') return { colourspace: 'srgb', eightBit };
  // libvips reads multi-band min-is-black TIFFs as "b-w". sharp's raw output keeps only band 0 of a b-w image and has
  // no route from b-w to "multiband", so let it convert to sRGB (band 0 tripled, the other bands passed through).
  if (space === 'b-w' && bands > 1) return { colourspace: 'srgb', greyExpanded: true, eightBit };
  return { colourspace: space, eightBit };
}

/** A JPEG's frame header: size and number of colour components; undefined if none comes before the scan data. */
function jpegFrame(bytes: Uint8Array): { components: number; height: number; width: number } | undefined {
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      return {
        height: (bytes[at + 5]! << 8) | bytes[at + 6]!,
        width: (bytes[at + 7]! << 8) | bytes[at + 8]!,
        components: bytes[at + 9]!,
      };
    }
    if (marker === 0xda) return undefined; // start of scan: no frame header seen
    at += 2 + ((bytes[at + 2]! << 8) | bytes[at + 3]!);
  }
  return undefined;
}

/** Small non-interlaced PNGs are decoded in JS (see png.ts); larger ones go to sharp, whose fixed cost is then small. */
const JS_PNG_MAX_PIXELS = 256 * 256;

/** [height, width] to let libvips shrink a JPEG to while decoding, when asked and the JPEG is larger on both axes. */
function jpegShrinkTarget(bytes: Uint8Array, options: DecodeOptions): readonly [number, number] | undefined {
  if (!options.jpeg_shrink_on_load || !isJpeg(bytes)) return undefined;
  const frame = jpegFrame(bytes);
  const [height, width] = options.imshape;
  return frame && frame.height > height && frame.width > width ? options.imshape : undefined;
}

async function decodeNative(bytes: Uint8Array, options: DecodeOptions): Promise<RawPixels> {
  if (isPng(bytes)) {
    const small = decodeSimplePng(bytes, JS_PNG_MAX_PIXELS);
    if (small) return small;
  }
  const p = await plan(bytes);
  let pipeline = sharp(bytes);
  const shrinkTo = jpegShrinkTarget(bytes, options);
  if (shrinkTo) {
    pipeline = pipeline.resize(shrinkTo[1], shrinkTo[0], { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: true });
  }
  if (p.colourspace) pipeline = pipeline.toColourspace(p.colourspace);
  // 8-bit images come out as bytes (a quarter of the copying); anything deeper is cast to float32 by libvips, on its
  // own thread, so the resize sees only these two array types (see resize.ts).
  const bytesOut = p.eightBit ?? false;
  const { data, info } = await pipeline
    .raw({ depth: bytesOut ? 'uchar' : 'float' })
    .toBuffer({ resolveWithObject: true });
  const samples = bytesOut
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  if (p.greyExpanded)
    return dropBands12({ samples, height: info.height, width: info.width, channels: info.channels });
  return { samples, height: info.height, width: info.width, channels: info.channels };
}

function dropBands12(im: RawPixels): RawPixels {
  const { samples, height, width, channels } = im;
  const kept = channels - 2;
  const out =
    samples instanceof Uint8Array
      ? new Uint8Array(height * width * kept)
      : new Float32Array(height * width * kept);
  for (let p = 0; p < height * width; p++) {
    out[p * kept] = samples[p * channels]!;
    for (let c = 1; c < kept; c++) out[p * kept + c] = samples[p * channels + c + 2]!;
  }
  return { samples: out, height, width, channels: kept };
}

/**
 * Decodes PNG, JPEG, TIFF (8/16-bit, float, any number of bands) and whatever else libvips reads, resizes to
 * `imshape` [H, W], picks `num_channels` channels and divides by `norm`. Throws DecodeError naming `key`.
 * The samples are written into `into` when given (H * W * num_channels long), e.g. the image's place in its batch.
 */
export async function decodeImage(
  bytes: Uint8Array,
  key: string,
  options: DecodeOptions,
  into?: Float32Array,
): Promise<Image> {
  const [height, width] = options.imshape;
  let raw: RawPixels;
  try {
    raw = await decodeNative(bytes, options);
  } catch (err) {
    throw new DecodeError(key, `cannot decode image (${(err as Error).message})`);
  }
  const { num_channels: channels, single_channel: repeat } = options;
  if (raw.channels < channels && !repeat) {
    throw new DecodeError(
      key,
      `image has ${raw.channels} channel(s) but num_channels is ${channels}; set single_channel: true to repeat its channels, or num_channels: ${raw.channels}`,
    );
  }
  // Fewer bands (single_channel) repeat cyclically, as the original's concat-then-slice did; extra bands are dropped.
  const data = resizeBilinear(
    raw.samples,
    raw.height,
    raw.width,
    raw.channels,
    height,
    width,
    channels,
    1 / options.norm,
    into,
  );
  return { data, height, width, channels };
}
