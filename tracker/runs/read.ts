// What the run pages show, read back from a run's event files: every scalar series (after SessionLog START purges,
// so a resumed run shows one value per step) and the latest image per tag. Cached per run until a file changes.
import { statSync } from 'node:fs';
import { readEventFile, tensorNumbers, type EventData } from '../../tensorboard-format/index.ts';
import { runDir } from './names.ts';
import { eventFiles } from './scan.ts';

export interface ScalarPoint {
  step: number;
  value: number;
}

export interface LatestImage {
  step: number;
  width: number;
  height: number;
  pngs: Buffer[];
}

export interface RunView {
  scalars: Map<string, ScalarPoint[]>;
  images: Map<string, LatestImage>;
}

const cache = new Map<string, { key: string; view: RunView }>();

function collect(events: EventData[], view: RunView, plugins: Map<string, string>): void {
  for (const event of events) {
    if (event.session_log?.status === 'START') {
      for (const [tag, points] of view.scalars) view.scalars.set(tag, points.filter((p) => p.step < event.step));
      for (const [tag, image] of view.images) if (image.step >= event.step) view.images.delete(tag);
    }
    for (const value of event.summary?.value ?? []) {
      const plugin = value.metadata?.plugin_data?.plugin_name;
      if (plugin && !plugins.has(value.tag)) plugins.set(value.tag, plugin);
      const kind = plugins.get(value.tag);
      let number: number | undefined;
      if (value.value === 'simple_value') number = value.simple_value ?? 0;
      else if (value.tensor && kind === 'scalars') number = tensorNumbers(value.tensor)[0];
      if (number !== undefined) {
        const points = view.scalars.get(value.tag) ?? [];
        // Like TensorBoard's default loader: a point at step s replaces the tag's points at steps >= s.
        while (points.length > 0 && points[points.length - 1].step >= event.step) points.pop();
        points.push({ step: event.step, value: number });
        view.scalars.set(value.tag, points);
      } else if (value.tensor && kind === 'images') {
        const [w, h, ...pngs] = value.tensor.string_val ?? [];
        if (w && h && pngs.length > 0) {
          view.images.set(value.tag, { step: event.step, width: Number(w.toString()), height: Number(h.toString()), pngs });
        }
      } else if (value.value === 'image' && value.image?.encoded_image_string) {
        const im = value.image;
        view.images.set(value.tag, { step: event.step, width: im.width ?? 0, height: im.height ?? 0, pngs: [im.encoded_image_string!] });
      }
    }
  }
}

export async function readRunView(logDir: string, runId: string): Promise<RunView> {
  const dir = runDir(logDir, runId);
  const files = eventFiles(dir);
  const key = files
    .map((f) => {
      const st = statSync(f);
      return `${f}:${st.size}:${st.mtimeMs}`;
    })
    .join('|');
  const cached = cache.get(dir);
  if (cached && cached.key === key) return cached.view;
  const view: RunView = { scalars: new Map(), images: new Map() };
  const plugins = new Map<string, string>();
  for (const file of files) collect((await readEventFile(file)).events, view, plugins);
  cache.set(dir, { key, view });
  if (cache.size > 64) cache.delete(cache.keys().next().value!);
  return view;
}
