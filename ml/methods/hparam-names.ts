// The columns of TensorBoard's HParams dashboard for pretraining runs. TensorBoard takes the first experiment it finds
// in the log dir, so every run declares the same: the settings common to all methods and every method's own.
import { METHODS } from './names.ts';
import { parseMethodConfig } from './index.ts';

/** The dashboard's metrics: the downstream probe's accuracy (as the original declared it), or its mean AUC for multi-label files. */
export const PRETRAIN_METRIC_TAGS = ['downstream/linear_classification_accuracy', 'downstream/mean_auc'];

const COMMON_HPARAMS = ['method', 'batch_size', 'sobel', 'augment', 'notes'];

/** Every name a pretraining run can log as an hparam: common settings, then each method's scalar options. */
export function pretrainHparamNames(): string[] {
  const names = new Set(COMMON_HPARAMS);
  for (const method of METHODS) {
    for (const [key, value] of Object.entries(parseMethodConfig(method, {}))) {
      if (value === null || ['number', 'string', 'boolean'].includes(typeof value)) names.add(key);
    }
  }
  return [...names];
}
