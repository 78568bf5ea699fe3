// The minio clients of an S3 connection: one for requests, and one that presigns GET URLs synchronously with the
// client's own addressing and Signature V4 code (its presignedGetObject is async, as it may look up the bucket's
// region; the decode pool's path function must answer at once). Region lookups never happen: the region is set.
import { Client, type ClientOptions } from 'minio';
import { presignSignatureV4 } from 'minio/dist/esm/signing.mjs';
import { StorageError } from './errors.ts';

export interface S3Connection {
  /** e.g. http://127.0.0.1:9000 */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region?: string;
}

function clientOptions(connection: S3Connection): ClientOptions {
  let url: URL;
  try {
    url = new URL(connection.endpoint);
  } catch {
    throw new StorageError(
      'BAD_LOCATION',
      `S3 endpoint ${JSON.stringify(connection.endpoint)} is not a URL; set S3_ENDPOINT like http://127.0.0.1:9000`,
    );
  }
  const useSSL = url.protocol === 'https:';
  return {
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: connection.accessKey,
    secretKey: connection.secretKey,
    region: connection.region ?? 'us-east-1',
    pathStyle: true,
  };
}

export function createS3Client(connection: S3Connection): Client {
  return new Client(clientOptions(connection));
}

class PresigningClient extends Client {
  presignGet(bucketName: string, objectName: string, expiresSeconds: number, now: Date): string {
    const region = this.region!;
    const request = this.getRequestOptions({ method: 'GET', region, bucketName, objectName });
    return presignSignatureV4(
      request,
      this.accessKey,
      this.secretKey,
      this.sessionToken,
      region,
      now,
      expiresSeconds,
    );
  }
}

/** Presigned GET URLs of one bucket's objects, equal to the minio client's presignedGetObject for the same date. */
export class GetPresigner {
  private readonly client: PresigningClient;

  constructor(
    connection: S3Connection,
    private readonly bucket: string,
  ) {
    this.client = new PresigningClient(clientOptions(connection));
  }

  /** A URL that GETs `objectName` (the full name in the bucket) without credentials until `expiresSeconds` pass. */
  url(objectName: string, expiresSeconds: number, now = new Date()): string {
    return this.client.presignGet(this.bucket, objectName, expiresSeconds, now);
  }
}
