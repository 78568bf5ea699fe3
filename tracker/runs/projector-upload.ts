// A projector sent over HTTP (POST /api/runs/:run/projector) written next to the run's event files, so workers on
// other machines can publish embeddings to the tracker's TensorBoard.
import { writeProjector, type RawImage } from '../../tensorboard-format/index.ts';
import { MAX_SPRITE_PIXELS } from '../../tensorboard-format/projector.ts';
import { TrackerError } from './errors.ts';
import type { ProjectorUpload } from '../../contracts/tracker-runs.ts';

export async function writeUploadedProjector(dir: string, upload: ProjectorUpload): Promise<{ points: number }> {
  const [n, d] = upload.shape;
  const values = Buffer.from(upload.values, 'base64');
  if (values.byteLength !== n * d * 4)
    throw new TrackerError(400, `values: ${values.byteLength} bytes, expected ${n} x ${d} float32 = ${n * d * 4}`);
  const vectors = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) vectors[i] = values.readFloatLE(i * 4);
  if (!vectors.every(Number.isFinite)) throw new TrackerError(400, 'values: NaN or infinite numbers; send finite vectors');

  const metadata = upload.metadata;
  if (metadata) {
    const bad = metadata.rows.findIndex((row) => row.length !== metadata.columns.length);
    if (metadata.rows.length !== n) throw new TrackerError(400, `metadata.rows: ${metadata.rows.length} rows for ${n} points`);
    if (bad >= 0) throw new TrackerError(400, `metadata.rows.${bad}: ${metadata.rows[bad]!.length} cells for ${metadata.columns.length} columns`);
  }

  let sprite: { images: RawImage[]; thumbSize: number } | undefined;
  if (upload.sprite) {
    const s = upload.sprite.thumbSize;
    const perRow = Math.ceil(Math.sqrt(n));
    if (perRow * s > MAX_SPRITE_PIXELS)
      throw new TrackerError(400, `sprite.thumbSize: ${n} thumbnails of ${s}px make a sprite ${perRow * s}px wide (max ${MAX_SPRITE_PIXELS}); use a thumbSize <= ${Math.floor(MAX_SPRITE_PIXELS / perRow)}`);
    const rgb = Buffer.from(upload.sprite.rgb, 'base64');
    if (rgb.byteLength !== n * s * s * 3)
      throw new TrackerError(400, `sprite.rgb: ${rgb.byteLength} bytes, expected ${n} x ${s} x ${s} x 3 = ${n * s * s * 3}`);
    const cell = s * s * 3;
    const images = Array.from({ length: n }, (_, i) => ({
      data: new Uint8Array(rgb.buffer, rgb.byteOffset + i * cell, cell),
      height: s,
      width: s,
      channels: 3 as const,
    }));
    sprite = { images, thumbSize: s };
  }
  await writeProjector(dir, [
    {
      name: upload.name,
      values: vectors,
      shape: [n, d],
      format: 'binary',
      // TensorBoard reads a one-column metadata file without a header line.
    ...(metadata
      ? { metadata: metadata.columns.length === 1 ? metadata.rows.map((r) => r[0]!) : { columns: metadata.columns, rows: metadata.rows } }
      : {}),
      ...(sprite ? { sprite } : {}),
    },
  ]);
  return { points: n };
}
