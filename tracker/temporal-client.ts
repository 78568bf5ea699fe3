// A Temporal client connected on first use. Best effort: while the server does not answer, callers get undefined and
// the next attempt waits `retryMs`.
import { Client, Connection } from '@temporalio/client';

export interface LazyClient {
  (): Promise<Client | undefined>;
  close(): Promise<void>;
}

export function lazyTemporalClient(
  address: string | undefined,
  namespace = 'default',
  retryMs = 10_000,
): LazyClient {
  let client: Promise<Client | undefined> | undefined;
  let retryAfter = 0;
  const get = (() => {
    if (!address) return Promise.resolve(undefined);
    if (!client && Date.now() >= retryAfter) {
      client = Connection.connect({ address, connectTimeout: '1s' })
        .then((connection) => new Client({ connection, namespace }))
        .catch(() => {
          client = undefined;
          retryAfter = Date.now() + retryMs;
          return undefined;
        });
    }
    return client ?? Promise.resolve(undefined);
  }) as LazyClient;
  get.close = async () => {
    const c = await client;
    await c?.connection.close().catch(() => undefined);
  };
  return get;
}
