// Bridges a run's spec to a trainer from ml/methods.
import { createTrainer } from '../ml/methods/index.ts';
import type { Trainer } from '../ml/methods/types.ts';
import type { AugmentParams } from '../ml/data/index.ts';
import type { Rng } from '../ml/rng.ts';
import type { PretrainMethod } from '../workflows/api.ts';

export function buildTrainer(
  method: PretrainMethod,
  config: Record<string, unknown>,
  inputShape: [number, number, number],
  rng: Rng,
  augment: AugmentParams | null,
): Trainer {
  return createTrainer(method, { config, inputShape, rng, augment: augment ?? undefined });
}
