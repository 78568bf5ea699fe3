// Presigned GET URLs for objects on an S3-compatible server (AWS Signature Version 4 in the query string, addressed as
// the client of createS3Client does), signed synchronously: the minio client only signs through an async call that may
// look up the bucket's region. The signing key is derived once per day and region, so a signature costs one SHA-256
// and one HMAC. The URLs equal the minio client's presignedGetObject for the same date (tests/s3-pool-reads.test.ts).
import { createHash, createHmac } from 'node:crypto';
import { parseS3Endpoint } from './endpoint.ts';

export interface PresignConnection {
  /** e.g. http://127.0.0.1:9000 */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region?: string;
}

const AMAZON_GLOBAL_HOSTS = new Set(['s3.amazonaws.com', 's3.cn-north-1.amazonaws.com.cn']);

/** S3 allows at most seven days. */
const MAX_EXPIRY_SECONDS = 7 * 24 * 3600;

/** encodeURIComponent plus the characters S3's canonical form escapes too (as minio's uriEscape). */
function uriEscape(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export class GetPresigner {
  private readonly origin: string;
  private readonly host: string;
  private readonly region: string;
  /** `/bucket` (path-style addressing), or empty where the bucket is in the host name. */
  private readonly bucketPath: string;
  private signingDay = '';
  private signingKey = Buffer.alloc(0);

  constructor(
    private readonly connection: PresignConnection,
    bucket: string,
  ) {
    const url = parseS3Endpoint(connection.endpoint);
    this.region = connection.region ?? 'us-east-1';
    let hostname = url.hostname;
    this.bucketPath = `/${bucket}`;
    // As the minio client: Amazon's global endpoints are asked at the region's own, with the bucket in the host name.
    if (AMAZON_GLOBAL_HOSTS.has(hostname)) {
      hostname = `s3.${this.region}.amazonaws.com${this.region.startsWith('cn-') ? '.cn' : ''}`;
      if (!(url.protocol === 'https:' && bucket.includes('.'))) {
        hostname = `${bucket}.${hostname}`;
        this.bucketPath = '';
      }
    }
    this.host = url.port ? `${hostname}:${url.port}` : hostname;
    this.origin = `${url.protocol}//${this.host}`;
  }

  /** A URL that GETs `objectName` (the full name in the bucket) without credentials until `expiresSeconds` pass. */
  url(objectName: string, expiresSeconds: number, now = new Date()): string {
    if (!(expiresSeconds >= 1 && expiresSeconds <= MAX_EXPIRY_SECONDS)) {
      throw new RangeError(`a presigned URL expires after 1 s to 7 days, not ${expiresSeconds} s`);
    }
    const iso = now.toISOString();
    const day = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
    const time = `${day}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
    const scope = `${day}/${this.region}/s3/aws4_request`;
    const path = `${this.bucketPath}/${uriEscape(objectName).replace(/%2F/g, '/')}`;
    // Already in sorted order, as the canonical request needs.
    const query =
      `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${uriEscape(`${this.connection.accessKey}/${scope}`)}` +
      `&X-Amz-Date=${time}&X-Amz-Expires=${Math.floor(expiresSeconds)}&X-Amz-SignedHeaders=host`;
    const canonical = `GET\n${path}\n${query}\nhost:${this.host}\n\nhost\nUNSIGNED-PAYLOAD`;
    const hash = createHash('sha256').update(canonical).digest('hex');
    const toSign = `AWS4-HMAC-SHA256\n${time}\n${scope}\n${hash}`;
    const signature = createHmac('sha256', this.keyFor(day)).update(toSign).digest('hex');
    return `${this.origin}${path}?${query}&X-Amz-Signature=${signature}`;
  }

  private keyFor(day: string): Buffer {
    if (day !== this.signingDay) {
      const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
      this.signingKey = hmac(
        hmac(hmac(hmac(`AWS4${this.connection.secretKey}`, day), this.region), 's3'),
        'aws4_request',
      );
      this.signingDay = day;
    }
    return this.signingKey;
  }
}
