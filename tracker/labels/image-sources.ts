// Where a labeling project's images are read from. A project's root is either a prefix inside the tracker's default
// image storage (PATCHWORK_IMAGES) or a location of its own: an absolute folder or s3://bucket/prefix, the same text
// the user gave to `patchwork label --images`. PATCHWORK_IMAGE_ROOTS limits which such locations a project may name.
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { StorageError } from '../../storage/errors.ts';
import { LocalStorage } from '../../storage/local.ts';
import { openStorage, parseLocation, type Location } from '../../storage/location.ts';
import { joinKey, normalizeKey } from '../../storage/keys.ts';
import type { S3Connection } from '../../storage/s3.ts';
import type { Storage } from '../../storage/storage.ts';
import { LabelStoreError } from './errors.ts';
import { insideFolder, realPathOf } from './real-paths.ts';

export const isLocationRoot = (root: string) => root.startsWith('/') || root.startsWith('s3://');

/** The canonical text of an absolute project root, or an error naming it and the expected form. */
export function checkLocationRoot(root: string): string {
  const bad = (why: string) =>
    new LabelStoreError(`root ${JSON.stringify(root)}: ${why}; give an absolute folder or s3://bucket/prefix`);
  if (root.length > 1024) throw bad('longer than 1024 characters');
  if (root.includes('\0') || root.includes('\\')) throw bad('contains NUL or a backslash');
  if (root === '/') throw bad('the filesystem root cannot hold a project; name the folder with the images');
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

/** An image to read: `id` names its bytes for the thumbnail cache (a real path for local files). */
export interface ImageSource {
  id: string;
  read(): Promise<Buffer>;
}

export class ImageSources {
  private readonly opened = new Map<string, Storage>();

  constructor(private readonly options: ImageSourcesOptions) {}

  /**
   * Validates a project's root: a prefix key, or an allowed location. Folders are compared by their real paths, so a
   * symbolic link inside an allowed folder that points elsewhere does not make its target allowed.
   */
  async check(root: string): Promise<void> {
    if (!isLocationRoot(root)) return;
    checkLocationRoot(root);
    if (root.startsWith('/') && (await realPathOf(root)) === '/')
      throw new LabelStoreError(`root ${JSON.stringify(root)} is a link to the filesystem root; name the folder with the images`);
    const allowed = this.options.allowedRoots;
    if (allowed && !(await this.allowed(root, allowed))) {
      throw new LabelStoreError(
        `root ${JSON.stringify(root)} is outside the tracker's image roots (${allowed.join(', ')}); ` +
          'add it to PATCHWORK_IMAGE_ROOTS where the tracker runs (symbolic links count where they point)',
        403,
      );
    }
    if (root.startsWith('s3://') && !this.options.s3)
      throw new LabelStoreError(`root ${root}: the tracker has no S3 endpoint; set S3_ENDPOINT where it runs`);
  }

  private async allowed(root: string, allowed: string[]): Promise<boolean> {
    if (root.startsWith('s3://')) return allowed.some((a) => inside(root, a));
    const real = await realPathOf(root);
    for (const a of allowed) {
      if (a.startsWith('/') && insideFolder(real, await realPathOf(a))) return true;
    }
    return false;
  }

  /**
   * The image `key` of a project rooted at `root`. A local file is read by its real path, and only when that path
   * lies inside the real path of the project's folder: a symbolic link to a file or folder elsewhere is refused.
   */
  async image(root: string, key: string): Promise<ImageSource> {
    if (!isLocationRoot(root)) {
      const base = this.options.base;
      // A prefix that is a link out of the default image folder counts as outside it.
      if (base instanceof LocalStorage)
        return localImage(root ? join(base.root, ...root.split('/')) : base.root, key, base.root);
      return storageImage(base, root ? joinKey(root, key) : key, key);
    }
    await this.check(root); // the allowed roots may have narrowed since the project was created
    if (root.startsWith('/')) return localImage(root, key);
    let storage = this.opened.get(root);
    if (!storage) {
      storage = openStorage(root, this.options.s3);
      this.opened.set(root, storage);
    }
    return storageImage(storage, key, key);
  }
}

const notFound = (key: string) => new LabelStoreError(`image ${JSON.stringify(key)} is not in the project's folder`, 404);

async function localImage(folder: string, key: string, outer = folder): Promise<ImageSource> {
  const normalized = normalizeKey(key);
  let realFolder: string;
  let realOuter: string;
  let realFile: string;
  try {
    realFolder = await realPathOf(folder, { mustExist: true });
    realOuter = await realPathOf(outer, { mustExist: true });
    realFile = await realPathOf(join(folder, ...normalized.split('/')), { mustExist: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') throw notFound(key);
    throw error;
  }
  if (!insideFolder(realFile, realFolder) || !insideFolder(realFile, realOuter) || realFile === realFolder) {
    throw new LabelStoreError(
      `image ${JSON.stringify(key)} is a symbolic link to a file outside the project's folder; copy the file into the folder instead`,
      403,
    );
  }
  return {
    id: `file:${realFile}`,
    async read() {
      try {
        return await readFile(realFile);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EISDIR') throw notFound(key);
        throw error;
      }
    },
  };
}

function storageImage(storage: Storage, storageKey: string, key: string): ImageSource {
  return {
    id: `${storage.location}\0${storageKey}`,
    async read() {
      try {
        return await storage.get(storageKey);
      } catch (error) {
        if (error instanceof StorageError && error.code === 'NOT_FOUND') throw notFound(key);
        throw error;
      }
    },
  };
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
