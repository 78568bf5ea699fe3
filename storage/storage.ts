export interface ObjectInfo {
  key: string;
  size: number;
}

export interface ListOptions {
  /** Only keys strictly after this one (lexicographic, as S3 orders them). */
  startAfter?: string;
}

/**
 * One interface over a local folder and an S3 bucket. Keys are relative to the storage's root and are
 * listed in lexicographic (byte) order by both backends, so a listing can be resumed with startAfter.
 */
export interface Storage {
  /** Where this storage points, e.g. `/data/images` or `s3://bucket/prefix`. */
  readonly location: string;
  list(prefix?: string, options?: ListOptions): AsyncIterable<ObjectInfo>;
  get(key: string): Promise<Buffer>;
  put(key: string, data: Uint8Array | string): Promise<void>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
}
