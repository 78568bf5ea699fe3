import { KeyListBuilder, type KeyList } from '../ml/data/key-list.ts';
import type { Storage } from './storage.ts';

/** The image files pretraining and embedding read, by extension. */
export const IMAGE_EXTENSIONS = /\.(png|jpe?g|tiff?|webp|gif)$/i;

/** Keys of the image files under a source, in key order; `onObject` sees every listed object with the images so far. */
export async function listImageKeys(source: Storage, onObject?: (images: number) => void): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of source.list()) {
    if (IMAGE_EXTENSIONS.test(object.key)) keys.push(object.key);
    onObject?.(keys.length);
  }
  return keys;
}

/** listImageKeys, held packed (see KeyList): for sources of millions of images. */
export async function listImageKeyList(source: Storage, onObject?: (images: number) => void): Promise<KeyList> {
  const keys = new KeyListBuilder();
  for await (const object of source.list()) {
    if (IMAGE_EXTENSIONS.test(object.key)) keys.add(object.key);
    onObject?.(keys.count);
  }
  return keys.list();
}
