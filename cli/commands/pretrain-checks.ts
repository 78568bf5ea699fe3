// What `patchwork pretrain` can check before it starts a workflow, so a wrong path or labels file fails in seconds
// with the flag named instead of in the run's first activity.
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Settings } from '../../config/settings.ts';
import { parseProbeLabels } from '../../ml/eval/probe-labels.ts';
import { listImageKeys } from '../../storage/image-keys.ts';
import { openStorage, parseLocation } from '../../storage/index.ts';
import { isUrl } from '../model-location.ts';

async function imageKeys(settings: Settings, flag: string, location: string): Promise<string[]> {
  let keys: string[];
  try {
    keys = await listImageKeys(openStorage(location, settings.s3));
  } catch (error) {
    throw new Error(`${flag} ${location}: ${(error as Error).message}`);
  }
  if (keys.length === 0) throw new Error(`${flag} ${location}: no image files (png, jpg, tif, webp, gif) there`);
  return keys;
}

async function readText(settings: Settings, location: string): Promise<string> {
  const parsed = parseLocation(location);
  if (parsed.kind === 'local') {
    const store = openStorage(dirname(parsed.path));
    return (await store.get(basename(parsed.path))).toString('utf8');
  }
  const slash = parsed.prefix.lastIndexOf('/');
  const store = openStorage(`s3://${parsed.bucket}/${parsed.prefix.slice(0, Math.max(slash, 0))}`, settings.s3);
  return (await store.get(parsed.prefix.slice(slash + 1))).toString('utf8');
}

/** Locations are absolute (local) or URLs, as they will be sent to the workflow. */
export async function checkPretrainInputs(
  settings: Settings,
  inputs: { images: string; labels?: string; testImages?: string; initialModel?: string },
): Promise<void> {
  const keys = await imageKeys(settings, '--images', inputs.images);
  if (inputs.testImages) await imageKeys(settings, '--test-images', inputs.testImages);
  if (inputs.labels) {
    let text: string;
    try {
      text = await readText(settings, inputs.labels);
    } catch (error) {
      throw new Error(`--labels ${inputs.labels}: cannot read it (${(error as Error).message})`);
    }
    try {
      parseProbeLabels(text, keys, inputs.labels, inputs.images);
    } catch (error) {
      throw new Error(`--labels: ${(error as Error).message}`);
    }
  }
  const model = inputs.initialModel;
  if (model && !isUrl(model) && !existsSync(model)) {
    throw new Error(`--init-model ${model} does not exist; give a tfjs model.json (or its folder), a URL, or a Keras .h5 file`);
  }
}
