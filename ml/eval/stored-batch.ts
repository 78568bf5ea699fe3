// Images whose bytes the caller has already read (so a storage outage fails the caller instead of marking images as
// undecodable), decoded without augmentation for feature extraction.
import type { Batch, InputOptions } from '../data/index.ts';
import { loadStepBatch } from '../methods/plan.ts';

/** The decodable images of `bytes`, in its order; undefined when none of them decodes. */
export async function decodeReadImages(
  bytes: ReadonlyMap<string, Uint8Array>,
  input: InputOptions,
  onSkip?: (key: string, reason: string) => void,
): Promise<Batch | undefined> {
  if (bytes.size === 0) return undefined;
  let skips = 0;
  try {
    return await loadStepBatch({
      keys: [...bytes.keys()],
      read: async (key) => bytes.get(key)!,
      input,
      augment: null,
      seed: 0,
      step: 0,
      onSkip: (key, reason) => {
        skips++;
        onSkip?.(key, reason);
      },
    });
  } catch (error) {
    if (skips === bytes.size) return undefined;
    throw error;
  }
}
