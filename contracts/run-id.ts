// Run ids become directory names under the tracker's log dir, so clients check them before sending.

/** One path segment: starts with a letter or digit, then letters, digits, '.', '_', '-'; at most 200 characters. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export const RUN_ID_RULE =
  'a run id is 1-200 characters of letters, digits, ".", "_" or "-", starting with a letter or digit (no "/" or "..")';

export function isValidRunId(id: string): boolean {
  return RUN_ID_PATTERN.test(id);
}
