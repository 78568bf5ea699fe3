// `patchwork augplot`: what an augmentation config does to your images, as a PNG grid (the original's viz.augplot).
// One image: a 4 x 4 grid, the original top left. A folder or s3://bucket/prefix: up to 5 images picked at random, one
// row each, the original first and then 5 augmentations.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import sharp from 'sharp';
import { loadSettings } from '../../config/settings.ts';
import { augplot, augplotOne, decodeImage } from '../../ml/data/index.ts';
import { parseInputOptions, type AugmentOption } from '../../ml/data/options.ts';
import type { Image } from '../../ml/data/image.ts';
import { sampleRows } from '../../ml/cluster/kmeans.ts';
import { Rng } from '../../ml/rng.ts';
import { openStorage, type Storage } from '../../storage/index.ts';
import { listImageKeys } from '../../storage/image-keys.ts';

const MAX_ROWS = 5;

export interface AugplotCommandOptions {
  config: string;
  images: string;
  out: string;
  seed: number;
}

/** The augment setting of a config file: a pretraining config's `augment` (with its `input`), or the augment dict itself. */
function readAugmentConfig(path: string): { augment: AugmentOption; input: Record<string, unknown> } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`--config ${path}: cannot read it (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`--config ${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed === 'boolean') return { augment: parsed, input: {} };
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`--config ${path}: expected a JSON object (a pretraining config with "augment", or the augment settings)`);
  }
  const config = parsed as Record<string, unknown>;
  if ('augment' in config) {
    const input = (config.input ?? {}) as Record<string, unknown>;
    return { augment: config.augment as AugmentOption, input };
  }
  return { augment: config as AugmentOption, input: {} };
}

function isLocalFile(location: string): boolean {
  if (location.startsWith('s3://')) return false;
  return statSync(location.replace(/^file:\/\//, ''), { throwIfNoEntry: false })?.isFile() ?? false;
}

async function loadImage(store: Storage, key: string, input: Record<string, unknown>): Promise<Image> {
  const bytes = await store.get(key);
  // Without an imshape in the config, each image keeps its own size, as the original's augplot did.
  const size = input.imshape ? undefined : await sharp(bytes).metadata();
  const options = parseInputOptions({ ...input, ...(size ? { imshape: [size.height!, size.width!] } : {}) } as never);
  return decodeImage(bytes, key, options);
}

export async function augplotCommand(options: AugplotCommandOptions): Promise<void> {
  const { augment, input } = readAugmentConfig(options.config);
  const rng = Rng.fromSeed(options.seed);
  const settings = loadSettings();
  let png: Uint8Array;
  if (isLocalFile(options.images)) {
    const path = resolve(options.images.replace(/^file:\/\//, ''));
    const image = await loadImage(openStorage(dirname(path)), basename(path), input);
    png = await augplotOne(image, augment, { rng });
    console.log(`augplot: ${path}, the original and 15 augmentations`);
  } else {
    const store = openStorage(options.images, settings.s3);
    const keys = await listImageKeys(store);
    if (keys.length === 0) {
      throw new Error(`--images ${options.images}: no image files (png, jpg, tif, webp, gif) there; give a folder, s3://bucket/prefix or one image file`);
    }
    const picked = keys.length <= MAX_ROWS ? keys : Array.from(sampleRows(keys.length, MAX_ROWS, rng), (i) => keys[i]!);
    const images = [];
    for (const key of picked) images.push(await loadImage(store, key, input));
    png = await augplot(images, augment, { rng, perImage: 5 });
    console.log(`augplot: ${picked.length} of ${keys.length} images (${picked.join(', ')}), the original and 5 augmentations each`);
  }
  writeFileSync(options.out, png);
  console.log(`wrote ${resolve(options.out)}`);
}
