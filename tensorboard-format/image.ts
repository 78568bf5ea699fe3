// Raw pixel images (HxWxC, row-major) to PNG via sharp, plus tiling many images into one grid.
import sharp from 'sharp';

export interface RawImage {
  /** H*W*C values: uint8 0..255, or floats in [0, 1]. */
  data: Uint8Array | Uint8ClampedArray | Float32Array | Float64Array | number[];
  height: number;
  width: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
}

export interface Uint8Image extends RawImage {
  data: Uint8Array;
}

function describe(image: RawImage): string {
  return `${image.height}x${image.width}x${image.channels}`;
}

/** Checks the shape and converts float [0, 1] data to uint8 (rounding); uint8 data is passed through. */
export function toUint8Image(image: RawImage, name = 'image'): Uint8Image {
  const { height, width, channels, data } = image;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new Error(`${name}: height and width must be positive integers, got ${height}x${width}`);
  }
  if (![1, 2, 3, 4].includes(channels)) {
    throw new Error(`${name}: channels must be 1, 2, 3 or 4, got ${channels}`);
  }
  const expected = height * width * channels;
  if (data.length !== expected) {
    throw new Error(`${name}: ${describe(image)} needs ${expected} values, got ${data.length}`);
  }
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) {
    return { height, width, channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  }
  const out = new Uint8Array(expected);
  for (let i = 0; i < expected; i++) {
    const v = data[i];
    if (!(v >= -1e-3 && v <= 1 + 1e-3)) {
      throw new Error(
        `${name}: float pixel ${i} is ${v}; float images must lie in [0, 1] ` +
          `(divide 0..255 data by 255, or pass a Uint8Array)`,
      );
    }
    out[i] = Math.round(Math.min(1, Math.max(0, v)) * 255);
  }
  return { height, width, channels, data: out };
}

export async function encodePng(image: RawImage, name = 'image'): Promise<Buffer> {
  const img = toUint8Image(image, name);
  const pipeline = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: img.channels },
  });
  // sharp reads 1- and 2-channel raw input as sRGB and would write RGB(A) PNGs; keep them grayscale.
  return (img.channels <= 2 ? pipeline.toColourspace('b-w') : pipeline).png().toBuffer();
}

export interface GridOptions {
  /** Images per row; default ceil(sqrt(n)). */
  columns?: number;
  /** Pixels between cells (filled with `background`); default 0. */
  padding?: number;
  /** Value for padding and empty cells, 0..255; default 0. */
  background?: number;
}

/** Tiles same-sized images row-major into one image (e.g. a batch of samples as one summary). */
export function tileImages(images: RawImage[], options: GridOptions = {}): Uint8Image {
  if (images.length === 0) throw new Error('tileImages: need at least one image');
  const cells = images.map((im, i) => toUint8Image(im, `tileImages image ${i}`));
  const { height, width, channels } = cells[0];
  cells.forEach((c, i) => {
    if (c.height !== height || c.width !== width || c.channels !== channels) {
      throw new Error(
        `tileImages: image ${i} is ${describe(c)} but image 0 is ${describe(cells[0])}; resize them to one shape first`,
      );
    }
  });
  const columns = options.columns ?? Math.ceil(Math.sqrt(cells.length));
  const padding = options.padding ?? 0;
  if (!Number.isInteger(columns) || columns < 1)
    throw new Error(`tileImages: columns must be >= 1, got ${columns}`);
  const rows = Math.ceil(cells.length / columns);
  const outW = columns * width + (columns - 1) * padding;
  const outH = rows * height + (rows - 1) * padding;
  const out = new Uint8Array(outW * outH * channels).fill(options.background ?? 0);
  const rowBytes = width * channels;
  cells.forEach((cell, i) => {
    const x0 = (i % columns) * (width + padding);
    const y0 = Math.floor(i / columns) * (height + padding);
    for (let y = 0; y < height; y++) {
      const src = y * rowBytes;
      out.set(cell.data.subarray(src, src + rowBytes), ((y0 + y) * outW + x0) * channels);
    }
  });
  return { data: out, height: outH, width: outW, channels };
}
