import { isTransient } from './errors.ts';

export interface RetryOptions {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetry: RetryOptions = { attempts: 5, initialDelayMs: 100, maxDelayMs: 3_000 };

/** Retries transient failures with exponential backoff and full jitter; other errors pass straight through. */
export async function withRetry<T>(operation: () => Promise<T>, options: RetryOptions = defaultRetry): Promise<T> {
  let delay = options.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= options.attempts || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * delay));
      delay = Math.min(delay * 2, options.maxDelayMs);
    }
  }
}
