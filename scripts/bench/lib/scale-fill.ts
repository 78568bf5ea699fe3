// The scale benchmark's source: one bucket of tiny images laid out so that three prefixes are real sources of 25 %,
// 50 % and 100 % of the objects (a/a/ is the first quarter, a/ the first half, the bucket root all of them). Filled
// concurrently from a handful of distinct images; a finished fill is recorded in the store bucket and not repeated,
// and an interrupted one resumes with the objects still missing.
import pLimit from 'p-limit';
import sharp from 'sharp';
import { Rng } from '../../../ml/rng.ts';
import type { Storage } from '../../../storage/index.ts';

export interface ScaleFraction {
  name: string;
  /** Prefix inside the bucket ('' for the whole bucket). */
  prefix: string;
  objects: number;
}

export interface ScaleLayout {
  objects: number;
  fractions: ScaleFraction[];
  keyAt(index: number): string;
}

export function scaleLayout(objects: number): ScaleLayout {
  const quarter = Math.floor(objects / 4);
  const half = Math.floor(objects / 2);
  const width = String(objects).length;
  const name = (i: number) => `${String(i).padStart(width, '0')}.${i % 2 === 0 ? 'png' : 'jpg'}`;
  return {
    objects,
    fractions: [
      { name: '25%', prefix: 'a/a', objects: quarter },
      { name: '50%', prefix: 'a', objects: half },
      { name: '100%', prefix: '', objects },
    ],
    keyAt: (i) => (i < quarter ? `a/a/${name(i)}` : i < half ? `a/b/${name(i)}` : `b/${name(i)}`),
  };
}

/** Four PNGs and four JPEGs of `size` x `size` smooth colour plus noise; object i reuses variant i % 8 of its format. */
export async function tinyImages(size: number): Promise<{ png: Buffer[]; jpg: Buffer[] }> {
  const rng = Rng.fromSeed(12);
  const variants = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const pixels = Uint8Array.from({ length: size * size * 3 }, () => rng.integer(0, 256));
      const raw = { raw: { width: size, height: size, channels: 3 as const } };
      return { png: await sharp(pixels, raw).png().toBuffer(), jpg: await sharp(pixels, raw).jpeg({ quality: 85 }).toBuffer() };
    }),
  );
  return { png: variants.map((v) => v.png), jpg: variants.map((v) => v.jpg) };
}

export interface FillOptions {
  source: Storage;
  /** Where the record of a finished fill is kept (not the source: it would count as an object). */
  marker: { store: Storage; key: string };
  layout: ScaleLayout;
  imageSize: number;
  concurrency: number;
  log(line: string): void;
}

export async function fillSource(options: FillOptions): Promise<{ written: number; seconds: number }> {
  const { source, layout, log } = options;
  if (await options.marker.store.exists(options.marker.key)) {
    log(`fill: ${source.location} already holds ${layout.objects} objects (${options.marker.key}); not refilled`);
    return { written: 0, seconds: 0 };
  }
  const present = new Set<string>();
  for await (const object of source.list()) present.add(object.key);
  if (present.size > 0) log(`fill: resuming, ${present.size} of ${layout.objects} objects already there`);
  const images = await tinyImages(options.imageSize);
  const limit = pLimit(options.concurrency);
  const started = performance.now();
  let written = 0;
  let lastLog = started;
  const missing = layout.objects - present.size;
  const report = () => {
    const seconds = (performance.now() - started) / 1000;
    log(`fill: ${present.size + written}/${layout.objects} objects (${((100 * (present.size + written)) / layout.objects).toFixed(1)} %), ${(written / seconds).toFixed(0)} objects/s`);
  };
  const writes: Promise<void>[] = [];
  for (let i = 0; i < layout.objects; i++) {
    const key = layout.keyAt(i);
    if (present.has(key)) continue;
    const bytes = key.endsWith('.png') ? images.png[i % 4]! : images.jpg[i % 4]!;
    writes.push(
      limit(async () => {
        await source.put(key, bytes);
        written++;
        if (performance.now() - lastLog > 5_000) {
          lastLog = performance.now();
          report();
        }
      }),
    );
    // Keep the queue of pending writes short, so filling 10 M objects does not queue 10 M promises.
    if (writes.length >= options.concurrency * 64) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  const seconds = (performance.now() - started) / 1000;
  if (missing > 0) report();
  await options.marker.store.put(options.marker.key, JSON.stringify({ objects: layout.objects, imageSize: options.imageSize, at: new Date().toISOString() }));
  return { written, seconds };
}
