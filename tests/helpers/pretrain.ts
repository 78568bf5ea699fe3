import sharp from 'sharp';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FixtureFile } from './images.ts';
import { runPythonJson } from './python.ts';

/** Small images in four visually distinct families (stripes, checks, blobs, gradients) so clusters can form. */
export async function patternImages(count: number, size = 48): Promise<FixtureFile[]> {
  const files: FixtureFile[] = [];
  for (let i = 0; i < count; i++) {
    const family = i % 4;
    const pixels = Buffer.alloc(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = (y * size + x) * 3;
        const v =
          family === 0 ? ((x + i) % 8 < 4 ? 230 : 20)
          : family === 1 ? (((x >> 3) + (y >> 3)) % 2 ? 200 : 40)
          : family === 2 ? ((x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 3) ** 2 ? 240 : 10)
          : Math.round((255 * (x + y)) / (2 * size));
        pixels[o] = v;
        pixels[o + 1] = family === 3 ? 255 - v : v;
        pixels[o + 2] = (v + i * 13) % 256;
      }
    }
    files.push({ key: `f${family}/img${String(i).padStart(3, '0')}.png`, bytes: await sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer() });
  }
  return files;
}

/** Scalars of every tag in a run directory as TensorBoard's EventAccumulator reports them: {tag: [[step, value]]}. */
export async function eventAccumulatorScalars(runDir: string): Promise<Record<string, [number, number][]>> {
  return runPythonJson(
    `
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
ea = EventAccumulator(sys.argv[1].strip('"'), size_guidance={"scalars": 0}).Reload()
print(json.dumps({t: [[s.step, s.value] for s in ea.Scalars(t)] for t in ea.Tags()["scalars"]}))
`,
    { input: runDir },
  );
}

export async function eventFiles(runDir: string): Promise<string[]> {
  return (await readdir(runDir)).filter((n) => n.includes('tfevents')).map((n) => join(runDir, n));
}

/**
 * Images of every tag in a run directory as TensorBoard's EventAccumulator reports them: {tag: [[step, width, height]]},
 * from legacy image summaries and from image-plugin tensors (string_val = [width, height, png...]).
 */
export async function eventAccumulatorImages(runDir: string): Promise<Record<string, [number, number, number][]>> {
  return runPythonJson(
    `
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
ea = EventAccumulator(sys.argv[1].strip('"'), size_guidance={"images": 0, "tensors": 0}).Reload()
out = {t: [[i.step, i.width, i.height] for i in ea.Images(t)] for t in ea.Tags()["images"]}
for t in ea.Tags()["tensors"]:
    if ea.SummaryMetadata(t).plugin_data.plugin_name == "images":
        out[t] = [[e.step, int(e.tensor_proto.string_val[0]), int(e.tensor_proto.string_val[1])] for e in ea.Tensors(t)]
print(json.dumps(out))
`,
    { input: runDir },
  );
}
