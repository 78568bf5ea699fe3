// The shapes the map routes accept (map-routes.tsx).
import { z } from 'zod';
import { LABELER_NAME } from '../auth.ts';

const imageKey = z.string().min(1).max(1024);
const keys = z.array(imageKey).max(100_000, 'at most 100 000 keys per request; send several slices');

export const mapBody = z.object({
  modelHash: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'the model hash: 1-128 of A-Z a-z 0-9 _ . -'),
  method: z.enum(['umap', 'pca']),
  keys,
  xy: z.array(z.number().finite()).max(200_000, 'two numbers per key, at most 100 000 keys per request'),
});
export const mapPointsQuery = z.object({
  class: z.string().min(1).max(100).optional(),
  format: z.enum(['json', 'bin'], { errorMap: () => ({ message: "'json' (default) or 'bin' (map-binary.ts)" }) }).default('json'),
});
export const selectionBody = z.object({ keys });
export const bulkLabelBody = z.object({
  keys: keys.min(1, 'select at least one image'),
  class: z.string().min(1).max(100),
  value: z.enum(['', '0', '1'], { errorMap: () => ({ message: "'1' (yes), '0' (no) or '' (unknown)" }) }),
});
export const selectionQuery = z.object({
  labeler: z.string().regex(LABELER_NAME, 'labeler: 1-40 of A-Z a-z 0-9 _ . @ -').optional(),
});
export const batchUndoBody = z.object({
  historyIds: z
    .array(z.number().int().positive())
    .min(1, 'the history ids a map labelling answered with')
    .max(100_000, 'at most 100 000 ids; a map labelling writes no more'),
});
