// A pretraining run's whole config in one JSON object: `input` (pipeline options), `augment` (false, true or a
// partial dict), and the method's own options at the top level. Errors name the field and the allowed values.
import { checkAugmentChannels } from '../data/augment.ts';
import { parseInputOptions, resolveAugment, type AugmentParams, type InputOptions } from '../data/index.ts';
import { checkMethodName, parseMethodConfig, type MethodName } from './index.ts';

export const PRETRAIN_BATCH_SIZE = 64;

export interface RunConfig {
  input: InputOptions;
  augment: AugmentParams | null;
  method: Record<string, unknown>;
  /** The original trainers' free-text `notes`, logged with the run's hparams. */
  notes?: string;
}

export function parseRunConfig(method: string, config: Record<string, unknown>): RunConfig {
  const name: MethodName = checkMethodName(method);
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new Error('config must be a JSON object like {"input": {...}, "augment": true, "k": 100}');
  }
  const { input: inputRaw, augment: augmentRaw, notes, ...methodRaw } = config as { input?: unknown; augment?: unknown; notes?: unknown };
  if (notes !== undefined && typeof notes !== 'string')
    throw new Error(`notes must be a string (free text logged with the run's hparams), got ${JSON.stringify(notes)}`);
  // The original's three trainers all default to batches of 64 (the loader's own default, 256, stays for ingest/embed).
  const withDefaults = isPlainObject(inputRaw) ? { batch_size: PRETRAIN_BATCH_SIZE, ...inputRaw } : (inputRaw ?? { batch_size: PRETRAIN_BATCH_SIZE });
  const input = parseInputOptions(withDefaults as never);
  // IIC makes its own second view, so its pipeline is unaugmented by default (see ml/methods/iic.ts).
  const augment = resolveAugment((augmentRaw ?? name !== 'iic') as never);
  checkAugmentChannels(augment, input.num_channels);
  return {
    input,
    augment,
    method: parseMethodConfig(name, methodRaw) as unknown as Record<string, unknown>,
    ...(notes ? { notes } : {}),
  };
}

export interface PretrainRequest {
  method: unknown;
  config: Record<string, unknown>;
  epochs: number;
}

/**
 * Every check a pretraining request gets before it runs: the method, the number of epochs and the whole config. The
 * CLI calls it to fail before it connects, the preparing activity before it lists anything.
 */
export function validatePretrainRequest(request: PretrainRequest): RunConfig & { name: MethodName } {
  const name = checkMethodName(request.method);
  if (!Number.isInteger(request.epochs) || request.epochs < 1) {
    throw new Error(`epochs must be a positive integer, got ${request.epochs}`);
  }
  return { name, ...parseRunConfig(name, request.config) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
