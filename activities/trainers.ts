// Bridges a run's spec to a trainer from ml/methods.
import { createTrainer, parseMethodConfig as parseConfig } from '../ml/methods/index.ts';
import type { Trainer } from '../ml/methods/types.ts';
import type { AugmentParams } from '../ml/data/index.ts';
import type { Rng } from '../ml/rng.ts';
import type { PretrainMethod } from '../workflows/api.ts';

export function parseMethodConfig(method: PretrainMethod, value: Record<string, unknown>): Record<string, unknown> {
  return parseConfig(method, value) as unknown as Record<string, unknown>;
}

export function buildTrainer(
  method: PretrainMethod,
  config: Record<string, unknown>,
  inputShape: [number, number, number],
  rng: Rng,
  augment: AugmentParams | null,
): Trainer {
  return createTrainer(method, { config, inputShape, rng, augment: augment ?? undefined });
}
