import { StorageError } from './errors.ts';

/** An S3 endpoint setting as a URL, or an error that names it and the expected form. */
export function parseS3Endpoint(endpoint: string): URL {
  try {
    return new URL(endpoint);
  } catch {
    throw new StorageError(
      'BAD_LOCATION',
      `S3 endpoint ${JSON.stringify(endpoint)} is not a URL; set S3_ENDPOINT like http://127.0.0.1:9000`,
    );
  }
}
