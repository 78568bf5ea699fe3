import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ListOptions, ObjectInfo, Storage } from './storage.ts';
import { normalizeKey, normalizePrefix } from './keys.ts';
import { StorageError } from './errors.ts';

const TEMP_MARK = '.pw-tmp-';

/** A folder on the local disk. Writes are atomic (temp file + rename), so a crash never leaves half a file. */
export class LocalStorage implements Storage {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get location(): string {
    return this.root;
  }

  /** The file a key names (for readers that open files themselves, such as the decode pool's threads). */
  localPath(key: string): string {
    return join(this.root, ...normalizeKey(key).split('/'));
  }

  async *list(prefix = '', options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const normalized = normalizePrefix(prefix);
    const startAfter = options.startAfter ?? '';
    // Walk from the deepest directory the prefix names, so listing a small sub-folder stays cheap.
    const slash = normalized.lastIndexOf('/');
    const baseDir = slash >= 0 ? normalized.slice(0, slash + 1) : '';
    const rootExists = await stat(this.root).catch(() => null);
    if (!rootExists?.isDirectory()) {
      throw new StorageError('NOT_FOUND', `folder ${this.root} does not exist or is not a directory`);
    }
    yield* this.walk(baseDir, normalized, startAfter);
  }

  /**
   * Yields files under `dirKey` in S3 key order. Entries are sorted by name with '/' appended to
   * directories, because that is the order their keys have ('a-b' sorts before 'a/x').
   */
  private async *walk(dirKey: string, prefix: string, startAfter: string): AsyncIterable<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(join(this.root, dirKey), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StorageError('IO', `cannot read folder ${join(this.root, dirKey)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const named = entries
      .filter((e) => !e.name.startsWith(TEMP_MARK))
      .map((e) => ({ entry: e, key: dirKey + e.name + (e.isDirectory() ? '/' : '') }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { entry, key } of named) {
      if (entry.isDirectory()) {
        if (!key.startsWith(prefix) && !prefix.startsWith(key)) continue;
        // Skip a whole subtree whose keys all sort before startAfter.
        if (startAfter !== '' && key < startAfter.slice(0, key.length)) continue;
        yield* this.walk(key, prefix, startAfter);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        if (!key.startsWith(prefix) || key <= startAfter) continue;
        const info = await stat(join(this.root, key)).catch(() => null);
        if (info?.isFile()) yield { key, size: info.size };
      }
    }
  }

  async get(key: string): Promise<Buffer> {
    const path = this.localPath(key);
    try {
      return await readFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') {
        throw new StorageError('NOT_FOUND', `no object ${JSON.stringify(key)} in ${this.root}`, { cause: error });
      }
      throw new StorageError('IO', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const path = this.localPath(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = join(dirname(path), `${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw new StorageError('IO', `cannot write ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  async exists(key: string): Promise<boolean> {
    const info = await stat(this.localPath(key)).catch(() => null);
    return info?.isFile() ?? false;
  }

  async delete(key: string): Promise<void> {
    await rm(this.localPath(key), { force: true });
  }
}

/** Paths of a store's keys when it is a local folder, for readers that open files themselves; else undefined. */
export function localFilePath(store: unknown): ((key: string) => string) | undefined {
  return store instanceof LocalStorage ? (key) => store.localPath(key) : undefined;
}
