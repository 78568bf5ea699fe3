// TFRecord framing, kept apart from what the payload means:
//   uint64 length | uint32 masked crc32c(length bytes) | payload | uint32 masked crc32c(payload), little-endian.
import { maskedCrc32c } from './crc.ts';

export const RECORD_OVERHEAD = 16;

/** Frames one payload as a complete TFRecord (one buffer, so it can be written with one write call). */
export function frameRecord(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(payload.length + RECORD_OVERHEAD);
  out.writeBigUInt64LE(BigInt(payload.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(payload, 12);
  out.writeUInt32LE(maskedCrc32c(payload), 12 + payload.length);
  return out;
}

export class RecordCorruptError extends Error {
  constructor(
    message: string,
    readonly recordIndex: number,
    readonly offset: number,
    readonly part: 'length' | 'payload',
  ) {
    super(message);
    this.name = 'RecordCorruptError';
  }
}

export interface TruncatedTail {
  /** Byte offset where the incomplete record starts. */
  offset: number;
  /** Bytes present after that offset (fewer than the record needs). */
  bytes: number;
}

export interface ParsedRecords {
  payloads: Buffer[];
  /** Set when the data ends inside a record (e.g. a writer crashed or is still writing); earlier records are kept. */
  truncatedTail?: TruncatedTail;
}

/**
 * Splits a buffer of TFRecords into payloads, verifying both CRCs of every record.
 * A CRC mismatch throws RecordCorruptError naming the record index and byte offset; a short trailing record is
 * reported in `truncatedTail`, not thrown, because that is what a live or crashed writer leaves behind.
 * `source` only names the data in error messages.
 */
export function parseRecords(data: Buffer, source = 'buffer'): ParsedRecords {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    const index = payloads.length;
    const remaining = data.length - offset;
    if (remaining < 12) return { payloads, truncatedTail: { offset, bytes: remaining } };
    const lengthBytes = data.subarray(offset, offset + 8);
    const lengthCrc = data.readUInt32LE(offset + 8);
    if (maskedCrc32c(lengthBytes) !== lengthCrc) {
      throw new RecordCorruptError(
        `${source}: record ${index} at byte ${offset} has a bad length CRC; the file is corrupt from here on ` +
          `(records before it are intact; rewrite the file or cut it at byte ${offset})`,
        index,
        offset,
        'length',
      );
    }
    const length = Number(data.readBigUInt64LE(offset));
    if (remaining < length + RECORD_OVERHEAD)
      return { payloads, truncatedTail: { offset, bytes: remaining } };
    const payload = data.subarray(offset + 12, offset + 12 + length);
    const payloadCrc = data.readUInt32LE(offset + 12 + length);
    if (maskedCrc32c(payload) !== payloadCrc) {
      throw new RecordCorruptError(
        `${source}: record ${index} at byte ${offset} has a bad payload CRC; the file is corrupt from here on ` +
          `(records before it are intact; rewrite the file or cut it at byte ${offset})`,
        index,
        offset,
        'payload',
      );
    }
    payloads.push(payload);
    offset += length + RECORD_OVERHEAD;
  }
  return { payloads };
}
