// Projector output for one run directory: no events, just files next to a
// projector_config.pbtxt. TensorBoard refuses asset paths that leave the pbtxt's directory, so everything lives
// under <runDir>/projector/<name>/.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { toUint8Image, tileImages, type RawImage, type Uint8Image } from './image.ts';

export interface ProjectorEmbedding {
  /** Tensor name shown in the projector; also names its folder. */
  name: string;
  /** N*D row-major values, or N rows of D numbers. */
  values: ArrayLike<number> | number[][];
  /** [N, D]; required when `values` is flat. */
  shape?: [number, number];
  /** 'tsv' (default) or raw little-endian float32 ('binary'). */
  format?: 'tsv' | 'binary';
  /** One label per point, or several named columns per point. */
  metadata?: (string | number)[] | { columns: string[]; rows: (string | number)[][] };
  /** One thumbnail per point, resized to thumbSize x thumbSize and tiled ceil(sqrt(N)) per row. */
  sprite?: { images: RawImage[]; thumbSize: number };
}

export interface ProjectorResult {
  configPath: string;
  /** Format actually written per embedding (binary falls back to tsv when the bytes happen to be valid UTF-8, which TensorBoard would misread as text). */
  formats: Record<string, 'tsv' | 'binary'>;
}

export const MAX_SPRITE_PIXELS = 8192;

function flatten(e: ProjectorEmbedding): { data: Float32Array; n: number; d: number } {
  if (Array.isArray(e.values) && Array.isArray(e.values[0])) {
    const rows = e.values as number[][];
    const d = rows[0].length;
    rows.forEach((r, i) => {
      if (r.length !== d)
        throw new Error(`projector "${e.name}": row ${i} has ${r.length} values, row 0 has ${d}`);
    });
    return { data: Float32Array.from(rows.flat()), n: rows.length, d };
  }
  if (!e.shape) throw new Error(`projector "${e.name}": flat values need shape [N, D]`);
  const [n, d] = e.shape;
  const flat = e.values as ArrayLike<number>;
  if (flat.length !== n * d)
    throw new Error(`projector "${e.name}": shape [${n}, ${d}] needs ${n * d} values, got ${flat.length}`);
  return { data: Float32Array.from(flat), n, d };
}

/** Drops alpha and repeats gray, so every sprite cell is RGB. */
function toRgb(img: Uint8Image): Uint8Image {
  if (img.channels === 3) return img;
  const pixels = img.height * img.width;
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const src = p * img.channels;
    const gray = img.channels <= 2;
    out[p * 3] = img.data[src];
    out[p * 3 + 1] = img.data[gray ? src : src + 1];
    out[p * 3 + 2] = img.data[gray ? src : src + 2];
  }
  return { data: out, height: img.height, width: img.width, channels: 3 };
}

function tsvCell(v: string | number): string {
  return String(v).replace(/[\t\r\n]/g, ' ');
}

function metadataTsv(e: ProjectorEmbedding, n: number): string {
  const m = e.metadata!;
  const rows = Array.isArray(m) ? m.map((v) => [v]) : m.rows;
  if (rows.length !== n)
    throw new Error(`projector "${e.name}": ${n} points but ${rows.length} metadata rows`);
  if (Array.isArray(m)) return rows.map((r) => tsvCell(r[0]) + '\n').join('');
  if (m.columns.length < 2)
    throw new Error(
      `projector "${e.name}": metadata with columns needs >= 2 columns; pass a plain array for one label`,
    );
  rows.forEach((r, i) => {
    if (r.length !== m.columns.length)
      throw new Error(
        `projector "${e.name}": metadata row ${i} has ${r.length} cells, expected ${m.columns.length}`,
      );
  });
  // Two or more columns: the first line is the header.
  return [m.columns, ...rows].map((r) => r.map(tsvCell).join('\t') + '\n').join('');
}

async function spritePng(e: ProjectorEmbedding, n: number): Promise<Buffer> {
  const { images, thumbSize } = e.sprite!;
  if (images.length !== n)
    throw new Error(`projector "${e.name}": ${n} points but ${images.length} sprite images`);
  const perRow = Math.ceil(Math.sqrt(n));
  if (perRow * thumbSize > MAX_SPRITE_PIXELS) {
    throw new Error(
      `projector "${e.name}": sprite would be ${perRow * thumbSize}px wide (max ${MAX_SPRITE_PIXELS}); use a thumbSize <= ${Math.floor(MAX_SPRITE_PIXELS / perRow)}`,
    );
  }
  const thumbs = await Promise.all(
    images.map(async (im, i) => {
      const img = toRgb(toUint8Image(im, `projector "${e.name}" sprite image ${i}`));
      const { data, info } = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
        raw: { width: img.width, height: img.height, channels: 3 },
      })
        .resize(thumbSize, thumbSize, { fit: 'fill' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      return {
        data: new Uint8Array(data),
        height: info.height,
        width: info.width,
        channels: info.channels as 3,
      };
    }),
  );
  const grid = tileImages(thumbs, { columns: perRow });
  // Square sprite: unused cells at the bottom stay black.
  const square = new Uint8Array(perRow * thumbSize * perRow * thumbSize * 3);
  square.set(grid.data);
  return sharp(Buffer.from(square.buffer), {
    raw: { width: perRow * thumbSize, height: perRow * thumbSize, channels: 3 },
  })
    .png()
    .toBuffer();
}

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function pbtxtString(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}

/**
 * Writes tensors, metadata, sprites and projector_config.pbtxt for `embeddings` (replacing any earlier config).
 * Every file is built before the first is written, so input that is refused leaves nothing behind.
 */
export async function writeProjector(
  runDir: string,
  embeddings: ProjectorEmbedding[],
): Promise<ProjectorResult> {
  if (embeddings.length === 0) throw new Error('writeProjector: need at least one embedding');
  const names = new Set<string>();
  // protobuf text format, written by hand: protobufjs has no text-format encoder and this config is tiny.
  const blocks: string[] = [];
  const formats: Record<string, 'tsv' | 'binary'> = {};
  const files: { folder: string; name: string; data: Buffer | string }[] = [];
  for (const e of embeddings) {
    if (!/^[A-Za-z0-9_.-]+$/.test(e.name) || e.name.startsWith('.')) {
      throw new Error(
        `projector embedding name ${JSON.stringify(e.name)} must use only letters, digits, _ . - (it names a folder)`,
      );
    }
    if (names.has(e.name)) throw new Error(`projector embedding name "${e.name}" is used twice`);
    names.add(e.name);
    const { data, n, d } = flatten(e);
    if (n < 1 || d < 1)
      throw new Error(`projector "${e.name}": need at least one point and one dimension, got [${n}, ${d}]`);
    const folder = `projector/${e.name}`;
    const lines = [`  tensor_name: ${pbtxtString(e.name)}`];
    const binary = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let format = e.format ?? 'tsv';
    if (format === 'binary' && isValidUtf8(binary)) format = 'tsv';
    formats[e.name] = format;
    if (format === 'binary') {
      files.push({ folder, name: 'tensors.bytes', data: binary });
      lines.push(`  tensor_path: ${pbtxtString(`${folder}/tensors.bytes`)}`);
    } else {
      let tsv = '';
      for (let i = 0; i < n; i++)
        tsv += Array.from(data.subarray(i * d, (i + 1) * d), String).join('\t') + '\n';
      files.push({ folder, name: 'tensors.tsv', data: tsv });
      lines.push(`  tensor_path: ${pbtxtString(`${folder}/tensors.tsv`)}`);
    }
    lines.push(`  tensor_shape: ${n}`, `  tensor_shape: ${d}`);
    if (e.metadata) {
      files.push({ folder, name: 'metadata.tsv', data: metadataTsv(e, n) });
      lines.push(`  metadata_path: ${pbtxtString(`${folder}/metadata.tsv`)}`);
    }
    if (e.sprite) {
      files.push({ folder, name: 'sprite.png', data: await spritePng(e, n) });
      const s = e.sprite.thumbSize;
      lines.push(
        `  sprite {`,
        `    image_path: ${pbtxtString(`${folder}/sprite.png`)}`,
        `    single_image_dim: ${s}`,
        `    single_image_dim: ${s}`,
        `  }`,
      );
    }
    blocks.push(`embeddings {\n${lines.join('\n')}\n}\n`);
  }
  for (const f of files) {
    await mkdir(join(runDir, f.folder), { recursive: true });
    await writeFile(join(runDir, f.folder, f.name), f.data);
  }
  const configPath = join(runDir, 'projector_config.pbtxt');
  await writeFile(configPath, blocks.join(''));
  return { configPath, formats };
}
