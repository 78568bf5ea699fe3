import { LocalStorage } from './local.ts';
import { S3Storage, type S3Connection, type S3StorageOptions } from './s3.ts';
import { StorageError } from './errors.ts';
import type { Storage } from './storage.ts';

export type Location = { kind: 'local'; path: string } | { kind: 's3'; bucket: string; prefix: string };

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/prefix` or a local path (`./dir`, `/abs/dir`, `file:///abs/dir`). */
export function parseLocation(text: string): Location {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new StorageError('BAD_LOCATION', 'the location is empty; give a folder path or s3://bucket/prefix');
  }
  if (text.startsWith('s3://')) {
    const rest = text.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (!BUCKET_NAME.test(bucket)) {
      throw new StorageError(
        'BAD_LOCATION',
        `${JSON.stringify(bucket)} in ${text} is not a valid bucket name (3-63 characters: a-z, 0-9, '.', '-')`,
      );
    }
    return { kind: 's3', bucket, prefix };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && !text.startsWith('file://')) {
    throw new StorageError('BAD_LOCATION', `${text}: only local folders and s3://bucket/prefix are supported`);
  }
  return { kind: 'local', path: text.startsWith('file://') ? new URL(text).pathname : text };
}

export function openStorage(
  location: string | Location,
  s3?: S3Connection,
  options?: S3StorageOptions,
): Storage {
  const parsed = typeof location === 'string' ? parseLocation(location) : location;
  if (parsed.kind === 'local') return new LocalStorage(parsed.path);
  if (!s3) {
    throw new StorageError(
      'BAD_LOCATION',
      `s3://${parsed.bucket} needs an S3 endpoint: set S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY (or run \`patchwork up\`)`,
    );
  }
  return new S3Storage(s3, parsed.bucket, parsed.prefix, options);
}
