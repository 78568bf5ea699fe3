// Checks of the label store's inputs: project ids, image keys, class names, actors and cell values. Each refusal is a
// LabelStoreError (400) that names the input and what to use instead.
import { PROJECT_ID } from '../../contracts/project-id.ts';
import { normalizeKey } from '../../storage/keys.ts';
import { LabelStoreError } from './errors.ts';

export type LabelValue = 0 | 1 | null;
export type Flag = 'exclude' | 'validation';
/** Column names that are not classes in the CSV layout. */
export const PROTECTED_COLUMNS = ['filepath', 'exclude', 'viewpath', 'validation'] as const;

export function checkProjectId(id: string): string {
  if (!PROJECT_ID.test(id)) {
    throw new LabelStoreError(
      `invalid project id ${JSON.stringify(id)}: use 1-64 of a-z, 0-9, '-', '_' (starting with a letter or digit)`,
    );
  }
  return id;
}

/** Image keys are canonical storage keys (no '..', no leading '/', no empty or '.' segments). */
export function checkImageKey(key: string): string {
  let norm: string;
  try {
    norm = normalizeKey(key);
  } catch (error) {
    throw new LabelStoreError((error as Error).message);
  }
  if (norm !== key)
    throw new LabelStoreError(
      `image key ${JSON.stringify(key)} is not canonical; use ${JSON.stringify(norm)}`,
    );
  if (key.length > 1024) throw new LabelStoreError('image key longer than 1024 characters');
  return key;
}

export function checkClassName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (trimmed === '' || trimmed !== name)
    throw new LabelStoreError(
      `class name ${JSON.stringify(name)} must be non-empty without surrounding spaces`,
    );
  if (name.length > 100) throw new LabelStoreError('class name longer than 100 characters');
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new LabelStoreError('class name contains control characters');
  if ((PROTECTED_COLUMNS as readonly string[]).includes(name)) {
    throw new LabelStoreError(
      `class name ${JSON.stringify(name)} is reserved (${PROTECTED_COLUMNS.join(', ')} are not classes)`,
    );
  }
  return name;
}

export function checkActor(actor: string): string {
  if (typeof actor !== 'string' || actor.length === 0 || actor.length > 100)
    throw new LabelStoreError('actor must be 1-100 characters');
  return actor;
}

export function checkValue(value: unknown): LabelValue {
  if (value === null || value === 0 || value === 1) return value;
  throw new LabelStoreError(`label value must be null (unknown), 0 or 1, got ${JSON.stringify(value)}`);
}
