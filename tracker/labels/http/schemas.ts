// The shapes the labels routes accept. Bodies come as JSON from API clients or as forms from the labeler page, so
// cell values and flags are the strings a form sends.
import { z } from 'zod';
import { LABELER_NAME } from '../auth.ts';
import { PROJECT_ID } from '../store.ts';

/** A few sizes only: each size of each image is a cached file. */
export const THUMB_SIZES = [32, 64, 128, 256, 512] as const;

const cellValue = z.enum(['', '0', '1']).transform((v) => (v === '' ? null : (Number(v) as 0 | 1)));
const className = z.string().min(1).max(100);
const imageKey = z.string().min(1).max(1024);

export const pageQuery = z.object({
  subset: z.string().max(200).optional(),
  sort: z.string().max(200).optional(),
  dim: z.coerce.number().int().min(1).max(8).default(3),
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
  token: z.string().max(500).optional(),
  labeler: z.string().regex(LABELER_NAME, 'labeler: 1-40 of A-Z a-z 0-9 _ . @ -').optional(),
});
export const labelBody = z.object({ key: imageKey, class: className, value: cellValue });
export const flagBody = z.object({ key: imageKey, flag: z.enum(['exclude', 'validation']), value: z.enum(['0', '1']) });
export const addClassBody = z.object({ name: className });
export const renameBody = z.object({ from: className, to: className });
export const retireBody = z.object({ name: className, retired: z.enum(['0', '1']).default('1') });
export const projectBody = z.object({
  id: z.string().regex(PROJECT_ID, 'id: 1-64 of a-z 0-9 - _'),
  name: z.string().min(1).max(200).optional(),
  root: z.string().max(1024).optional(),
});
export const imagesBody = z.object({
  images: z.array(z.object({ key: imageKey, viewKey: imageKey.nullish() })).max(100_000),
});
export const predictionsBody = z.object({
  keys: z.array(z.string()).max(1_000_000),
  classes: z.array(z.string()).min(1),
  probs: z.array(z.array(z.number().min(0).max(1))),
});
export const queueBody = z.object({
  round: z.number().int().min(0),
  sort: z.string().min(1).max(200),
  keys: z.array(imageKey).max(1_000_000),
});
export const historyQuery = z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(100) });
export const thumbQuery = z.object({
  size: z
    .enum(THUMB_SIZES.map(String) as [string, ...string[]], {
      errorMap: () => ({ message: `one of ${THUMB_SIZES.join(', ')} pixels` }),
    })
    .default('256')
    .transform(Number),
});
