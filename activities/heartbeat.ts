import { Context } from '@temporalio/activity';

/**
 * Heartbeats `details()` every `intervalMs` while a long activity runs, so the server notices a dead
 * worker within the heartbeat timeout and a retry can read the last details. Call the returned function
 * when done. The SDK throttles heartbeats itself; the timer just guarantees one arrives during long
 * stretches of work that never yield a natural progress point.
 */
export function keepHeartbeating<T>(details: () => T, intervalMs = 1_000): () => void {
  const context = Context.current();
  context.heartbeat(details());
  const timer = setInterval(() => context.heartbeat(details()), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The details the previous attempt of this activity heartbeated, if any. */
export function lastHeartbeat<T>(): T | undefined {
  return Context.current().info.heartbeatDetails as T | undefined;
}
