import { StorageError } from './errors.ts';
import type { Storage } from './storage.ts';

/**
 * The bytes of each key that exists, in key order, and the keys that are gone. Any other failure (an outage) is thrown,
 * so the caller fails and retries instead of treating the images as missing for good.
 */
export async function readExisting(
  source: Storage,
  keys: readonly string[],
): Promise<{ bytes: Map<string, Uint8Array>; missing: string[] }> {
  const bytes = new Map<string, Uint8Array>();
  const missing: string[] = [];
  for (const key of keys) {
    try {
      bytes.set(key, await source.get(key));
    } catch (error) {
      if (error instanceof StorageError && error.code === 'NOT_FOUND') missing.push(key);
      else throw error;
    }
  }
  return { bytes, missing };
}
