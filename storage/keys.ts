/**
 * Object keys are '/'-separated paths relative to a storage root. Every key that reaches a backend goes
 * through normalizeKey, so no caller-supplied name can climb out of the root, locally or in a bucket.
 */
export class InvalidKeyError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid storage key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

export function normalizeKey(key: string): string {
  if (typeof key !== 'string') throw new InvalidKeyError(String(key), 'a key must be a string');
  if (key.includes('\0')) throw new InvalidKeyError(key, 'NUL bytes are not allowed');
  if (key.includes('\\')) throw new InvalidKeyError(key, "use '/' as the separator, not '\\'");
  const parts = key.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.some((part) => part === '..')) {
    throw new InvalidKeyError(key, "'..' segments are not allowed (keys are relative to the storage root)");
  }
  if (parts.length === 0) throw new InvalidKeyError(key, 'the key is empty');
  return parts.join('/');
}

/** A prefix may be empty (the whole root); otherwise it is normalised like a key and keeps a trailing '/'. */
export function normalizePrefix(prefix: string): string {
  if (prefix === '' || prefix === '/' || prefix === '.') return '';
  const trailing = prefix.endsWith('/');
  const key = normalizeKey(prefix);
  return trailing ? `${key}/` : key;
}

export function joinKey(...parts: string[]): string {
  return normalizeKey(parts.filter((p) => p !== '').join('/'));
}
