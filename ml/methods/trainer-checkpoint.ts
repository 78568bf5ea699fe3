// A trainer's whole state (every network, optimizer, its random stream and method state) as a checkpoint and back.
import {
  loadLatestCheckpoint,
  restoreOptimizer,
  snapshotCheckpoint,
  writeCheckpoint,
  type CheckpointSnapshot,
  type CheckpointStore,
  type Json,
} from '../checkpoint.ts';
import { Rng, type RngState } from '../rng.ts';
import type { Trainer } from './types.ts';

/** The trainer's state in host memory (see snapshotCheckpoint): training may go on once this resolves. */
export async function snapshotTrainer(trainer: Trainer, position: { step: number; epoch: number }): Promise<CheckpointSnapshot> {
  const parts = trainer.parts();
  return snapshotCheckpoint({
    step: position.step,
    epoch: position.epoch,
    models: parts.models,
    optimizers: parts.optimizers,
    rng: trainer.rng.state(),
    state: trainer.methodState() as Json,
  });
}

export async function saveTrainerCheckpoint(
  store: CheckpointStore,
  prefix: string,
  trainer: Trainer,
  position: { step: number; epoch: number },
): Promise<void> {
  await writeCheckpoint(store, prefix, await snapshotTrainer(trainer, position));
}

/** Gives `trainer` the newest checkpoint's state and returns its step; undefined when there is no checkpoint yet. */
export async function restoreTrainer(store: CheckpointStore, prefix: string, trainer: Trainer): Promise<number | undefined> {
  const checkpoint = await loadLatestCheckpoint(store, prefix);
  if (!checkpoint) return undefined;
  const parts = trainer.parts();
  for (const [name, model] of Object.entries(parts.models)) {
    const saved = checkpoint.models[name];
    model.setWeights(saved.getWeights());
    saved.dispose();
  }
  for (const [name, optimizer] of Object.entries(parts.optimizers)) {
    if (checkpoint.optimizers[name]) await restoreOptimizer(optimizer, checkpoint.optimizers[name]);
  }
  if (checkpoint.rng) trainer.rng = Rng.fromState(checkpoint.rng as RngState);
  trainer.loadMethodState((checkpoint.state ?? {}) as Record<string, unknown>);
  return checkpoint.step;
}
