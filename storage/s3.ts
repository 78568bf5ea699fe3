import { Client } from 'minio';
import type { ListOptions, ObjectInfo, Storage } from './storage.ts';
import { normalizeKey, normalizePrefix } from './keys.ts';
import { StorageError } from './errors.ts';
import { defaultRetry, withRetry, type RetryOptions } from './retry.ts';
import { GetPresigner, createS3Client, type S3Connection } from './s3-client.ts';

export { createS3Client, type S3Connection };

export interface S3StorageOptions {
  /** Objects per list request (S3 caps it at 1000). */
  pageSize?: number;
  retry?: RetryOptions;
  /** Called after every list page; lets tests see that listing is lazy. */
  onListPage?: (objects: number) => void;
}

/** A bucket (optionally under a prefix) on any S3-compatible server, through the minio client. */
export class S3Storage implements Storage {
  private readonly client: Client;
  private readonly root: string;
  private readonly pageSize: number;
  private readonly retry: RetryOptions;
  private presigner?: GetPresigner;

  constructor(
    private readonly connection: S3Connection,
    readonly bucket: string,
    prefix = '',
    private readonly options: S3StorageOptions = {},
  ) {
    this.client = createS3Client(connection);
    this.root = normalizePrefix(prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`);
    this.pageSize = Math.min(Math.max(options.pageSize ?? 1000, 1), 1000);
    this.retry = options.retry ?? defaultRetry;
  }

  get location(): string {
    return `s3://${this.bucket}/${this.root}`;
  }

  private objectName(key: string): string {
    return this.root + normalizeKey(key);
  }

  private call<T>(what: string, key: string | undefined, operation: () => Promise<T>): Promise<T> {
    return withRetry(async () => {
      try {
        return await operation();
      } catch (error) {
        throw this.explain(what, key, error);
      }
    }, this.retry);
  }

  async *list(prefix = '', options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const fullPrefix = this.root + normalizePrefix(prefix);
    let startAfter = options.startAfter ? this.root + normalizeKey(options.startAfter) : '';
    let token = '';
    for (;;) {
      const page = await this.call('list', undefined, () =>
        this.client.listObjectsV2Query(this.bucket, fullPrefix, token, '', this.pageSize, startAfter),
      );
      this.options.onListPage?.(page.objects.length);
      for (const object of page.objects) {
        if (object.name === undefined) continue;
        yield { key: object.name.slice(this.root.length), size: object.size };
      }
      if (!page.isTruncated || !page.nextContinuationToken) return;
      token = page.nextContinuationToken;
      startAfter = '';
    }
  }

  async get(key: string): Promise<Buffer> {
    const name = this.objectName(key);
    return this.call('read', key, async () => {
      const stream = await this.client.getObject(this.bucket, name);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
  }

  /**
   * A URL anyone may GET the key's object by for `expiresSeconds`, signed locally (no request): for readers that fetch
   * objects themselves, such as the decode pool's threads.
   */
  presignedGetUrl(key: string, expiresSeconds: number): string {
    this.presigner ??= new GetPresigner(this.connection, this.bucket);
    return this.presigner.url(this.objectName(key), expiresSeconds);
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const name = this.objectName(key);
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.call('write', key, () => this.client.putObject(this.bucket, name, body, body.length));
  }

  async exists(key: string): Promise<boolean> {
    const name = this.objectName(key);
    try {
      await this.call('stat', key, () => this.client.statObject(this.bucket, name));
      return true;
    } catch (error) {
      if (error instanceof StorageError && error.code === 'NOT_FOUND') return false;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const name = this.objectName(key);
    await this.call('delete', key, () => this.client.removeObject(this.bucket, name));
  }

  /** Makes the bucket if it is missing (used by `patchwork up` and tests on the embedded server). */
  async ensureBucket(): Promise<void> {
    const exists = await this.call('check bucket', undefined, () => this.client.bucketExists(this.bucket));
    if (!exists) await this.call('create bucket', undefined, () => this.client.makeBucket(this.bucket));
  }

  private explain(what: string, key: string | undefined, error: unknown): Error {
    if (error instanceof StorageError) return error;
    const code = (error as { code?: string }).code ?? '';
    const where = `${this.connection.endpoint} bucket ${JSON.stringify(this.bucket)}`;
    const object = key === undefined ? '' : ` object ${JSON.stringify(key)}`;
    const options = { cause: error };
    switch (code) {
      case 'NoSuchBucket':
        return new StorageError(
          'NO_SUCH_BUCKET',
          `bucket ${JSON.stringify(this.bucket)} does not exist on ${this.connection.endpoint}; create it or fix the bucket name (S3_BUCKET or the s3:// location)`,
          options,
        );
      case 'NoSuchKey':
      case 'NotFound':
        return new StorageError('NOT_FOUND', `no${object || ' object'} in ${where}`, options);
      case 'InvalidAccessKeyId':
      case 'SignatureDoesNotMatch':
      case 'AccessDenied':
      case 'InvalidToken':
        return new StorageError(
          'BAD_CREDENTIALS',
          `${this.connection.endpoint} refused the credentials (${code}) for ${what}; check S3_ACCESS_KEY and S3_SECRET_KEY`,
          options,
        );
      case 'ECONNREFUSED':
      case 'ENOTFOUND':
      case 'EHOSTUNREACH':
      case 'ETIMEDOUT':
      case 'ECONNRESET':
      case 'EAI_AGAIN':
        return new StorageError(
          'UNREACHABLE',
          `cannot reach the S3 endpoint ${this.connection.endpoint} (${code}); is the server running and S3_ENDPOINT right?`,
          options,
        );
      default:
        return new StorageError('IO', `S3 ${what} failed for ${where}${object}: ${(error as Error).message}`, options);
    }
  }
}
