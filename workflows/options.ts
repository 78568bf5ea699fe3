/** Drops keys whose value is undefined, so `{ ...DEFAULTS, ...definedOnly(input) }` keeps the defaults. */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * How long the server waits for a heartbeat from a long activity (a training chunk, an embedding chunk, a labeling
 * round's step) before it retries it on another worker: a killed worker's work moves on within this time. Activities
 * heartbeat every second and the SDK sends at most one heartbeat per 0.8 x this timeout, so a healthy activity is
 * only timed out when its thread is blocked for about this long.
 */
export const LONG_ACTIVITY_HEARTBEAT_TIMEOUT_MS = 15_000;
