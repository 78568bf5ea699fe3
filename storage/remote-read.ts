// Runs in the decode pool's threads (ml/data/pool-task.ts loads it by the URL that pool-reader.ts gives): the bytes of
// an object behind a presigned GET URL, fetched with Node's fetch. Transient failures (5xx, throttling, a reset or
// refused connection, a timeout) are retried with backoff as every store call is (retry.ts); a missing object, a
// refused signature and other 4xx answers fail at once. Messages name the key, never the URL (it carries a signature).
import { StorageError } from './errors.ts';
import { withRetry } from './retry.ts';

/** One try's limit: a stalled connection must not hold a decode thread for ever. */
const ATTEMPT_TIMEOUT_MS = 60_000;

/** The body of the object `ref` (a presigned GET URL) names; `key` names it in errors. */
export function readRemote(ref: string, key: string): Promise<Uint8Array> {
  return withRetry(() => fetchOnce(ref, key));
}

async function fetchOnce(ref: string, key: string): Promise<Uint8Array> {
  const url = new URL(ref);
  // The object's URL without its signature: the bucket is in the path or, on Amazon's endpoints, in the host name.
  const where = `${url.origin}${url.pathname}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
    if (response.ok) return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    // A failed connection, a reset mid-body or the timeout: worth another try.
    const cause = (error as { cause?: { code?: string } }).cause;
    const why = cause?.code ?? (error as Error).name;
    throw new StorageError('UNREACHABLE', `cannot read object ${JSON.stringify(key)} at ${where} (${why})`, {
      cause: error,
    });
  }
  const code = /<Code>([^<]*)<\/Code>/.exec(await response.text().catch(() => ''))?.[1] ?? '';
  const status = `HTTP ${response.status}${code ? ` ${code}` : ''}`;
  if (code === 'NoSuchBucket')
    throw new StorageError(
      'NO_SUCH_BUCKET',
      `no bucket for object ${JSON.stringify(key)} at ${where} (${status})`,
    );
  if (response.status === 404)
    throw new StorageError('NOT_FOUND', `no object ${JSON.stringify(key)} at ${where}`);
  if (response.status === 401 || response.status === 403) {
    throw new StorageError(
      'BAD_CREDENTIALS',
      `${url.origin} refused the signed read of object ${JSON.stringify(key)} (${status})`,
    );
  }
  if (response.status >= 500 || response.status === 429 || code === 'SlowDown') {
    throw new StorageError('IO', `S3 read of object ${JSON.stringify(key)} at ${where} failed: ${status}`);
  }
  // Any other answer would come back the same: no retry (a plain Error is not transient).
  throw new Error(`S3 read of object ${JSON.stringify(key)} at ${where} failed: ${status}`);
}
