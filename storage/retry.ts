import pRetry from 'p-retry';
import { isTransient } from './errors.ts';

export interface RetryOptions {
  /** Tries in all, the first one included. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetry: RetryOptions = { attempts: 5, initialDelayMs: 100, maxDelayMs: 3_000 };

/** Retries transient failures with exponential, randomised backoff; other errors pass straight through. */
export function withRetry<T>(operation: () => Promise<T>, options: RetryOptions = defaultRetry): Promise<T> {
  return pRetry(operation, {
    retries: Math.max(options.attempts - 1, 0),
    factor: 2,
    minTimeout: options.initialDelayMs,
    maxTimeout: options.maxDelayMs,
    randomize: true,
    shouldRetry: ({ error }) => isTransient(error),
  });
}
