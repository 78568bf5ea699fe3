// A small PNG decoder for the common case: non-interlaced, 8- or 16-bit grey / grey+alpha / RGB / RGBA.
// Hand-written because sharp's fixed cost per call (about half a millisecond here) dwarfs the work for small images
// such as 28x28 Fashion-MNIST, and zlib does the heavy part. Anything else returns null and goes to sharp.
import { inflateSync } from 'node:zlib';
import type { Samples } from './resize.ts';

export interface RawPixels {
  /** Bytes for 8-bit images, floats for anything deeper (see resize.ts). */
  samples: Samples;
  height: number;
  width: number;
  channels: number;
}

const CHANNELS_BY_COLOUR_TYPE: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** Decodes `bytes` if this decoder handles the file (see above); null if sharp should. Throws on corrupt data. */
export function decodeSimplePng(bytes: Uint8Array, maxPixels: number): RawPixels | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const bitDepth = bytes[24]!;
  const colourType = bytes[25]!;
  const interlace = bytes[28]!;
  const bands = CHANNELS_BY_COLOUR_TYPE[colourType];
  if (bands === undefined || (bitDepth !== 8 && bitDepth !== 16) || interlace !== 0) return null;
  if (width === 0 || height === 0 || width * height > maxPixels) return null;

  const parts: Uint8Array[] = [];
  let at = 8;
  for (;;) {
    if (at + 12 > bytes.length) throw new Error('PNG is truncated (no IEND chunk)');
    const length = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (at + 12 + length > bytes.length) throw new Error(`PNG is truncated inside its ${type} chunk`);
    if (type === 'IDAT') parts.push(bytes.subarray(at + 8, at + 8 + length));
    if (type === 'IEND') break;
    at += 12 + length;
  }
  const filtered = inflateSync(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  const bytesPerPixel = (bands * bitDepth) / 8;
  const stride = width * bytesPerPixel;
  if (filtered.length < height * (stride + 1))
    throw new Error('PNG image data is shorter than its header says');
  const unfiltered = unfilter(filtered, height, stride, bytesPerPixel);

  // Grey+alpha keeps only grey, as sharp does for that colour type, so both decoders give the same channels.
  const channels = bands === 2 ? 1 : bands;
  const pixels = width * height;
  if (bitDepth === 8 && channels === bands) return { samples: unfiltered, height, width, channels };
  const samples = bitDepth === 8 ? new Uint8Array(pixels * channels) : new Float32Array(pixels * channels);
  const bytesPerSample = bitDepth / 8;
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < channels; c++) {
      const from = (p * bands + c) * bytesPerSample;
      samples[p * channels + c] =
        bitDepth === 8 ? unfiltered[from]! : (unfiltered[from]! << 8) | unfiltered[from + 1]!;
    }
  }
  return { samples, height, width, channels };
}

/** Undoes the per-row PNG filters (None, Sub, Up, Average, Paeth) into a new buffer without the filter bytes. */
function unfilter(data: Uint8Array, height: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = data[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride; // only read when y > 0
    for (let i = 0; i < stride; i++) {
      const raw = data[src + i]!;
      const left = i >= bpp ? out[row + i - bpp]! : 0;
      const up = y > 0 ? out[prev + i]! : 0;
      const upLeft = y > 0 && i >= bpp ? out[prev + i - bpp]! : 0;
      let value: number;
      switch (filter) {
        case 0:
          value = raw;
          break;
        case 1:
          value = raw + left;
          break;
        case 2:
          value = raw + up;
          break;
        case 3:
          value = raw + ((left + up) >> 1);
          break;
        case 4:
          value = raw + paeth(left, up, upLeft);
          break;
        default:
          throw new Error(`PNG row ${y} has unknown filter type ${filter}`);
      }
      out[row + i] = value & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}
