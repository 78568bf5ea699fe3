// How the decode pool's threads read a store's images themselves, so that the training loop's thread neither reads
// nor copies them: a local folder's files by path, an S3 bucket's objects by presigned GET URLs that the threads fetch
// through remote-read.ts. ml/ stays free of HTTP and storage code: it only imports the module this names.
import { localFilePath } from './local.ts';
import { S3Storage } from './s3.ts';

/**
 * What ml/data's BatchRequest.filePath takes: a key's local path or, when `reader` is set, a reference the pool's
 * threads pass to that module's `readRemote(ref, key)`.
 */
export type PoolFilePath = ((key: string) => string) & { readonly reader?: string };

/** The module the pool's threads import to fetch an object by its presigned URL. */
export const REMOTE_READER = new URL('./remote-read.ts', import.meta.url).href;

/**
 * How long a presigned URL stays valid. URLs are signed as each batch is loaded, at most a few batches before its
 * threads fetch it, so an hour leaves a wide margin for slow steps and clock skew.
 */
export const REMOTE_URL_EXPIRY_SECONDS = 3600;

/** Presigned GET URLs of a store's keys when it is an S3 bucket, for the pool's threads to fetch; else undefined. */
export function remoteFileUrl(store: unknown): PoolFilePath | undefined {
  if (!(store instanceof S3Storage)) return undefined;
  const url = (key: string) => store.presignedGetUrl(key, REMOTE_URL_EXPIRY_SECONDS);
  return Object.assign(url, { reader: REMOTE_READER });
}

/** How the pool's threads read a store's keys themselves (local paths or presigned URLs); undefined: read on the caller. */
export function poolReader(store: unknown): PoolFilePath | undefined {
  return localFilePath(store) ?? remoteFileUrl(store);
}
