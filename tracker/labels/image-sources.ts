// Where a labeling project's images are read from. A project's root is either a prefix inside the tracker's default
// image storage (PATCHWORK_IMAGES) or a location of its own: an absolute folder or s3://bucket/prefix, the same text
// the user gave to `patchwork label --images`. PATCHWORK_IMAGE_ROOTS limits which such locations a project may name.
import { posix } from 'node:path';
import { openStorage, parseLocation, type Location } from '../../storage/location.ts';
import { joinKey, normalizeKey } from '../../storage/keys.ts';
import type { S3Connection } from '../../storage/s3.ts';
import type { Storage } from '../../storage/storage.ts';
import { LabelStoreError } from './store.ts';

export const isLocationRoot = (root: string) => root.startsWith('/') || root.startsWith('s3://');

/** The canonical text of an absolute project root, or an error naming it and the expected form. */
export function checkLocationRoot(root: string): string {
  const bad = (why: string) =>
    new LabelStoreError(`root ${JSON.stringify(root)}: ${why}; give an absolute folder or s3://bucket/prefix`);
  if (root.length > 1024) throw bad('longer than 1024 characters');
  if (root.includes('\0') || root.includes('\\')) throw bad('contains NUL or a backslash');
  if (root.startsWith('/')) {
    const norm = posix.normalize(root).replace(/(.)\/+$/, '$1');
    if (norm !== root || root.split('/').includes('..')) throw bad(`not canonical (use ${JSON.stringify(norm)})`);
    return root;
  }
  let location: Location;
  try {
    location = parseLocation(root);
  } catch (error) {
    throw bad((error as Error).message);
  }
  if (location.kind !== 's3') throw bad('not a location');
  if (location.prefix !== '') {
    try {
      if (normalizeKey(location.prefix) !== location.prefix) throw new Error('not canonical');
    } catch (error) {
      throw bad(`prefix ${(error as Error).message}`);
    }
  }
  return root;
}

function inside(root: string, allowed: string): boolean {
  const base = allowed.replace(/\/+$/, '');
  return root === base || root.startsWith(`${base}/`) || base === '';
}

export interface ImageSourcesOptions {
  /** Storage for projects whose root is a prefix (or empty). */
  base: Storage;
  /** Locations a project root may lie in (absolute folders, s3://bucket[/prefix]); undefined: any. */
  allowedRoots?: string[];
  /** Needed for s3:// roots. */
  s3?: S3Connection;
}

export class ImageSources {
  private readonly opened = new Map<string, Storage>();

  constructor(private readonly options: ImageSourcesOptions) {}

  /** Validates a project's root when the project is created: a prefix key, or an allowed location. */
  check(root: string): void {
    if (!isLocationRoot(root)) return;
    checkLocationRoot(root);
    const allowed = this.options.allowedRoots;
    if (allowed && !allowed.some((a) => inside(root, a))) {
      throw new LabelStoreError(
        `root ${JSON.stringify(root)} is outside the tracker's image roots (${allowed.join(', ')}); ` +
          'add it to PATCHWORK_IMAGE_ROOTS where the tracker runs',
        403,
      );
    }
    if (root.startsWith('s3://') && !this.options.s3)
      throw new LabelStoreError(`root ${root}: the tracker has no S3 endpoint; set S3_ENDPOINT where it runs`);
  }

  /** The storage and key to read for an image of a project rooted at `root`. */
  resolve(root: string, key: string): { storage: Storage; key: string } {
    if (!isLocationRoot(root)) return { storage: this.options.base, key: root ? joinKey(root, key) : key };
    this.check(root); // the allowed roots may have narrowed since the project was created
    let storage = this.opened.get(root);
    if (!storage) {
      storage = openStorage(root, this.options.s3);
      this.opened.set(root, storage);
    }
    return { storage, key };
  }
}

/** PATCHWORK_IMAGE_ROOTS: comma-separated absolute folders or s3://bucket[/prefix]; unset or empty: any location. */
export function imageRootsFromEnv(value: string | undefined): string[] | undefined {
  if (!value?.trim()) return undefined;
  return value
    .split(',')
    .map((part) => part.trim().replace(/(.)\/+$/, '$1'))
    .filter(Boolean)
    .map((part) => {
      if (!isLocationRoot(part))
        throw new Error(`PATCHWORK_IMAGE_ROOTS: ${JSON.stringify(part)} is not an absolute folder or s3://bucket/prefix`);
      return checkLocationRoot(part);
    });
}
