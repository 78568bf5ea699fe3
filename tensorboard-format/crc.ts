import { crc32c } from '@node-rs/crc32';

const MASK_DELTA = 0xa282ead8;

/** CRC32C (Castagnoli) of `data`, as an unsigned 32-bit number. */
export function crc32cOf(data: Uint8Array): number {
  return crc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 bits, then add a constant (all mod 2^32). */
export function maskCrc(crc: number): number {
  const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
  return (rotated + MASK_DELTA) >>> 0;
}

export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32cOf(data));
}
