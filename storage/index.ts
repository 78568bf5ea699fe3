export type { Storage, ObjectInfo, ListOptions } from './storage.ts';
export { LocalStorage, localFilePath } from './local.ts';
export { poolReader, remoteFileUrl, type PoolFilePath } from './pool-reader.ts';
export { S3Storage, createS3Client, type S3Connection, type S3StorageOptions } from './s3.ts';
export { parseLocation, openStorage, type Location } from './location.ts';
export { normalizeKey, normalizePrefix, joinKey, InvalidKeyError } from './keys.ts';
export { StorageError, isTransient, type StorageErrorCode } from './errors.ts';
export { withRetry, type RetryOptions } from './retry.ts';
