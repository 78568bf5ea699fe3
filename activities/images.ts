import sharp from 'sharp';
import type { BadFile, BadFileReason, ImageRecord } from '../contracts/ingest.ts';

/** Raster formats the pipeline can decode. sharp also reads SVG and PDF, which are not photos to sort. */
const RASTER_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif', 'jp2']);

const BITS_PER_SAMPLE: Record<string, number> = {
  uchar: 8,
  char: 8,
  ushort: 16,
  short: 16,
  uint: 32,
  int: 32,
  float: 32,
  double: 64,
  complex: 64,
  dpcomplex: 128,
};

export type Inspection = { ok: true; record: ImageRecord } | { ok: false; bad: BadFile };

/**
 * Reads the header with sharp, then decodes the whole image (at a tiny output size, which lets JPEG
 * decode at reduced scale) so a truncated or corrupt body is caught here and not in the middle of training.
 */
export async function inspectImage(key: string, bytes: Buffer, maxPixels: number): Promise<Inspection> {
  const bad = (reason: BadFileReason, message: string): Inspection => ({
    ok: false,
    bad: { key, size: bytes.length, reason, message },
  });
  if (bytes.length === 0) return bad('empty', 'the file has zero bytes');
  let metadata: sharp.Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    return bad('not-an-image', firstLine(error));
  }
  const format = metadata.format ?? 'unknown';
  if (!RASTER_FORMATS.has(format)) return bad('unsupported-format', `${format} is not a raster image format`);
  const width = metadata.width ?? 0;
  const height = metadata.height ?? 0;
  if (width * height > maxPixels) {
    return bad('too-many-pixels', `${width}x${height} = ${width * height} pixels is over the limit of ${maxPixels}`);
  }
  try {
    await sharp(bytes, { failOn: 'truncated', limitInputPixels: maxPixels })
      .resize(4, 4, { fit: 'fill', fastShrinkOnLoad: true })
      .raw()
      .toBuffer();
  } catch (error) {
    return bad('truncated', firstLine(error));
  }
  return {
    ok: true,
    record: {
      key,
      size: bytes.length,
      format,
      width,
      height,
      channels: metadata.channels ?? 0,
      bitDepth: BITS_PER_SAMPLE[metadata.depth ?? 'uchar'] ?? 8,
    },
  };
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0];
}
