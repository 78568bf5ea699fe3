import { TrackerError } from './errors.ts';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk; refuses anything that is not a PNG. */
export function pngSize(png: Buffer, where: string): { width: number; height: number } {
  if (png.length < 33 || !png.subarray(0, 8).equals(SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new TrackerError(400, `${where}: not a PNG file (send PNG bytes, base64-encoded)`);
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
