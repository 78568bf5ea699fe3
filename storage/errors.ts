/** Errors that name what was wrong and how to fix it; `code` lets callers branch without parsing text. */
export type StorageErrorCode =
  | 'NOT_FOUND'
  | 'NO_SUCH_BUCKET'
  | 'BAD_CREDENTIALS'
  | 'UNREACHABLE'
  | 'BAD_LOCATION'
  | 'IO';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** Transient: worth another try. Everything else fails at once. */
export function isTransient(error: unknown): boolean {
  if (error instanceof StorageError) return error.code === 'UNREACHABLE' || error.code === 'IO';
  const code = (error as { code?: string })?.code;
  return ['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNREFUSED', 'SlowDown', 'InternalError', 'RequestTimeout'].includes(
    code ?? '',
  );
}
