// The Train page's form: the round's head and its options (the Model panel) and the training options (the Train
// panel), as the labeler sends them; empty fields take the head's defaults. Checked with the rounds' own
// checkHeadOptions, so the page refuses what a round would refuse.
import { z } from 'zod';
import { checkHeadOptions, type HeadOptions } from '../../ml/active/head-options.ts';
import { headParameterCount, type HeadInputShape } from '../../ml/active/head-parameters.ts';
import type { RetrainRequest } from '../../contracts/active-learning.ts';
import { httpError } from './http/validate.ts';

const blankIsUnset = (v: unknown) => (v === '' ? undefined : v);
const number = (what: string) =>
  z.preprocess(blankIsUnset, z.coerce.number({ invalid_type_error: what }).refine(Number.isFinite, what).optional());
const text = z.preprocess(blankIsUnset, z.string().max(100).optional());
const yesNo = z.preprocess(blankIsUnset, z.enum(['0', '1'], { message: 'use 1 (yes) or 0 (no)' }).optional());

/** Every field the page sends; an API client may send any subset. */
export const headForm = z
  .object({
    kind: text,
    hidden: number('a whole number of hidden units'),
    output: text,
    pooling: text,
    layers: number('a whole number of layers'),
    filters: number('a whole number of filters'),
    kernel: number('a kernel size, 1 or 3'),
    separable: yesNo,
    spatialDropout: number('a dropout rate'),
    learningRate: number('a learning rate'),
    weightDecay: number('a weight decay'),
    entropyWeight: number('an entropy weight'),
    labelSmoothing: number('a label smoothing'),
    epochs: number('a whole number of epochs'),
    samplesPerEpoch: number('a whole number of samples per epoch'),
    batchSize: number('a whole number of images per batch'),
  })
  .strict();

export const trainForm = headForm.extend({ updatePredictions: yesNo }).strict();

/** The head options the form names, checked; a refusal is a 400 naming the field and what it needs. */
export function headOptionsOf(form: z.output<typeof headForm>): HeadOptions {
  const { separable, ...rest } = form;
  const options = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as HeadOptions;
  if (separable !== undefined) options.separable = separable === '1';
  try {
    checkHeadOptions(options);
  } catch (error) {
    throw httpError(400, (error as Error).message);
  }
  return options;
}

export function retrainRequestOf(form: z.output<typeof trainForm>): RetrainRequest {
  const { updatePredictions, ...head } = form;
  return { head: headOptionsOf(head), updatePredictions: updatePredictions !== '0' };
}

/** The head's trainable parameter count, or why it cannot be given. */
export function parameterCount(options: HeadOptions, input: HeadInputShape | undefined): { count?: number; note?: string } {
  if (!input) return { note: 'the parameter count needs the loop’s embeddings (start it with patchwork label)' };
  try {
    return { count: headParameterCount(options, input) };
  } catch (error) {
    return { note: (error as Error).message };
  }
}
