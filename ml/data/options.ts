// Config schemas for the input pipeline and augmentation, with the original's defaults.
import { z } from 'zod';

/** Augmentation parameters as the pipeline uses them: every step present, a disabled step has its zero value. */
export interface AugmentParams {
  max_brightness_delta: number;
  contrast_min: number;
  contrast_max: number;
  max_hue_delta: number;
  max_saturation_delta: number;
  left_right_flip: boolean;
  up_down_flip: boolean;
  rot90: boolean;
  zoom_scale: number;
  select_prob: number;
}

/** What `augment: true` means. */
export const AUGMENT_DEFAULTS: Readonly<AugmentParams> = Object.freeze({
  max_brightness_delta: 0.2,
  contrast_min: 0.4,
  contrast_max: 1.4,
  max_hue_delta: 0.1,
  max_saturation_delta: 0.5,
  left_right_flip: true,
  up_down_flip: true,
  rot90: true,
  zoom_scale: 0.3,
  select_prob: 0.5,
});

/** What a key missing from an `augment` dict means: the step is off; select_prob falls back to 1.0. */
const AUGMENT_DISABLED: Readonly<AugmentParams> = Object.freeze({
  max_brightness_delta: 0,
  contrast_min: 0,
  contrast_max: 0,
  max_hue_delta: 0,
  max_saturation_delta: 0,
  left_right_flip: false,
  up_down_flip: false,
  rot90: false,
  zoom_scale: 0,
  select_prob: 1.0,
});

export const AUGMENT_KEYS = Object.keys(AUGMENT_DEFAULTS) as Array<keyof AugmentParams>;

const nonNegative = z.number().finite().nonnegative();
const augmentDictSchema = z
  .object(
    {
      max_brightness_delta: nonNegative,
      contrast_min: nonNegative,
      contrast_max: nonNegative,
      max_hue_delta: z.number().finite().min(0).max(0.5),
      max_saturation_delta: nonNegative,
      left_right_flip: z.boolean(),
      up_down_flip: z.boolean(),
      rot90: z.boolean(),
      zoom_scale: z.number().finite().min(0).max(0.5),
      select_prob: z.number().finite().min(0).max(1),
    },
    {
      errorMap: (issue, ctx) =>
        issue.code === 'unrecognized_keys'
          ? {
              message: `unknown augment key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}; allowed keys: ${AUGMENT_KEYS.join(', ')}`,
            }
          : { message: ctx.defaultError },
    },
  )
  .partial()
  .strict();

/** `false`, `true`, or a partial dict of the keys in AUGMENT_DEFAULTS. */
export const augmentSchema = z.union([z.boolean(), augmentDictSchema], {
  errorMap: (issue, ctx) =>
    issue.code === 'invalid_union'
      ? { message: `augment must be true, false or an object with keys from: ${AUGMENT_KEYS.join(', ')}` }
      : { message: ctx.defaultError },
});
export type AugmentOption = z.input<typeof augmentSchema>;

/** Expands the user-facing `augment` value: null means no augmentation step at all. */
export function resolveAugment(value: AugmentOption | undefined): AugmentParams | null {
  const parsed = parseOrThrow(augmentSchema, value ?? false, 'augment');
  if (parsed === false) return null;
  if (parsed === true) return { ...AUGMENT_DEFAULTS };
  if (Object.keys(parsed).length === 0) return null; // `{}` is falsy in the original
  return { ...AUGMENT_DISABLED, ...parsed };
}

export const inputSchema = z
  .object({
    imshape: z
      .tuple([z.number().int().positive(), z.number().int().positive()], {
        errorMap: () => ({ message: 'imshape must be [height, width], two positive integers' }),
      })
      .default([256, 256]),
    num_channels: z.number().int().positive().default(3),
    norm: z.number().finite().positive().default(255),
    batch_size: z.number().int().positive().default(256),
    /** Reads in flight per batch (decodes queue on the decode pool's threads); null: 4 (the original passed None). */
    num_parallel_calls: z.number().int().positive().nullable().default(null),
    /** Batches loaded ahead of the training step (the original used prefetch(1)); training loads at least 2 ahead. */
    prefetch: z.number().int().positive().default(1),
    shuffle: z.boolean().default(false),
    sobel: z.boolean().default(false),
    single_channel: z.boolean().default(false),
    /**
     * JPEGs larger than imshape are shrunk by libvips while decoding (DCT shrink-on-load, then its linear kernel)
     * instead of decoded at full size and resized exactly as tf.image.resize; faster, slightly smoother pixels.
     */
    jpeg_shrink_on_load: z.boolean().default(false),
  })
  .strict();
export type InputOptions = z.output<typeof inputSchema>;
export type InputOptionsIn = z.input<typeof inputSchema>;

export function parseInputOptions(value: InputOptionsIn | undefined): InputOptions {
  return parseOrThrow(inputSchema, value ?? {}, 'input');
}

/** Throws one Error whose message names every offending field, e.g. "input.imshape: ...". */
export function parseOrThrow<S extends z.ZodTypeAny>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const path = [where, ...issue.path].join('.');
    return `${path}: ${issue.message}`;
  });
  throw new Error(`invalid ${where} options:\n  ${lines.join('\n  ')}`);
}
