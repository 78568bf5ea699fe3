// The map's columns as one binary body, so the page reads 100 000 points without parsing megabytes of JSON.
// Little-endian: u32 n, u32 h, h bytes of JSON {modelHash, method, className}, zeros up to a multiple of 4, then
// f32 x[n], f32 y[n], f32 p[n] (-1: no prediction), i8 label[n] (1 yes, 0 no, -1 unknown), and the keys in UTF-8
// joined by '\n' (a key holds no newline) to the end.
import type { MapColumns } from './map-store.ts';

export function encodeMapColumns(cols: MapColumns): Uint8Array<ArrayBuffer> {
  const n = cols.keys.length;
  const header = Buffer.from(JSON.stringify({ modelHash: cols.modelHash, method: cols.method, className: cols.className }));
  const start = 8 + Math.ceil(header.length / 4) * 4;
  const keys = Buffer.from(cols.keys.join('\n'));
  const out = new Uint8Array(new ArrayBuffer(start + 12 * n + n + keys.length));
  const view = new DataView(out.buffer);
  view.setUint32(0, n, true);
  view.setUint32(4, header.length, true);
  out.set(header, 8);
  new Float32Array(out.buffer, start, n).set(cols.x);
  new Float32Array(out.buffer, start + 4 * n, n).set(cols.y);
  new Float32Array(out.buffer, start + 8 * n, n).set(cols.p);
  new Int8Array(out.buffer, start + 12 * n, n).set(cols.label);
  out.set(keys, start + 13 * n);
  return out;
}
