// The stochastic-gradient training loop the vector heads (head.ts) and the feature-map heads (map-head.ts) share, as
// the original's fine-tuning: each epoch draws samplesPerEpoch stratified rows and batches them; Adam on the masked
// loss of the output model, plus optional L2 weight decay and entropy minimisation on unlabelled rows; with validation
// labels, the epoch with the lowest validation loss is kept.
import type { Optimizer, Scalar, Tensor, Tensor2D, Variable } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import type { Rng } from '../rng.ts';
import { entropyLoss, maskedBinaryCrossEntropy, maskedMeanAbsoluteError } from './losses.ts';
import { stratifiedSample, unlabeledRows } from './sampling.ts';
import { checkTable, type LabelTable } from './table.ts';
import type { HeadOutput } from './head-output.ts';

export interface TrainOptions {
  epochs?: number;
  samplesPerEpoch?: number;
  batchSize?: number;
  /** Weight of the entropy term on unlabeled rows; 0 (default) disables it. */
  entropyWeight?: number;
  labelSmoothing?: number;
  /** L2 penalty on the kernels (not the biases, nor the cosine output's class directions); 0 (default) disables it. */
  weightDecay?: number;
  rng: Rng;
}

export interface TrainResult {
  /** One value per step, as the original records them. */
  losses: number[];
  entropy: number[];
  /** Masked loss on labelled validation rows after each epoch (empty without validation labels). */
  validationLosses: number[];
  /** The epoch whose weights were kept (the last one without validation labels). */
  keptEpoch: number;
}

/** What the loop needs of a head. */
export interface TrainableHead {
  readonly name: string;
  readonly vars: Variable[];
  readonly optimizer: Optimizer;
  /** The shape of one row: [d] for vectors, [h, w, c] for feature maps. */
  readonly rowShape: number[];
  readonly numClasses: number;
  readonly output: HeadOutput | undefined;
  /** Variables penalised by weight decay. */
  readonly kernels: Variable[];
  /** Probabilities [n, k] of rows [n, ...rowShape]; `training` turns dropout on, drawing its masks from `rng`. */
  probabilities(x: Tensor, training?: { rng: Rng }): Tensor2D;
}

export const rowLength = (head: { rowShape: number[] }) => head.rowShape.reduce((a, b) => a * b, 1);

export function headLoss(output: HeadOutput | undefined, y: Tensor, p: Tensor, labelSmoothing = 0): Scalar {
  return output === 'cosine' ? maskedMeanAbsoluteError(y, p, labelSmoothing) : maskedBinaryCrossEntropy(y, p, labelSmoothing);
}

export function gatherRows(features: Float32Array, d: number, rows: ArrayLike<number>): Float32Array {
  const x = new Float32Array(rows.length * d);
  for (let j = 0; j < rows.length; j++) x.set(features.subarray(rows[j]! * d, rows[j]! * d + d), j * d);
  return x;
}

/** Validation rows with at least one label, not excluded. */
function validationRowsOf(table: LabelTable): number[] {
  const k = table.classes.length;
  const rows: number[] = [];
  for (let i = 0; i < table.n; i++) {
    if (!table.validation[i] || table.exclude[i]) continue;
    if (table.labels.subarray(i * k, i * k + k).some((v) => v !== -1)) rows.push(i);
  }
  return rows;
}

/** Applies `fn` to rows [n, ...rowShape] of `features`, `chunk` rows at a time, and gathers [n, outDim]. */
export function mapRows(
  features: Float32Array,
  rowShape: number[],
  chunk: number,
  outDim: number,
  fn: (x: Tensor) => Tensor2D,
  owner: string,
): Float32Array {
  const tf = activeTf();
  const d = rowShape.reduce((a, b) => a * b, 1);
  const n = features.length / d;
  if (!Number.isInteger(n)) throw new Error(`${owner}: features length ${features.length} is not a multiple of ${d} (row shape [${rowShape}])`);
  const out = new Float32Array(n * outDim);
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const y = tf.tidy(() => fn(tf.tensor(features.subarray(start * d, (start + m) * d), [m, ...rowShape])));
    out.set(y.dataSync(), start * outDim);
    y.dispose();
  }
  return out;
}

/** Sum of squared entries of the head's kernels. */
function weightNorm(head: TrainableHead): Scalar {
  const tf = activeTf();
  return head.kernels.map((v) => tf.sum(tf.square(v))).reduce((a, b) => tf.add(a, b)) as Scalar;
}

/**
 * Trains `head` on `features` (already standardised rows of the head's row shape) and the table's labels.
 * `validationChunk` rows at a time go through the head for the validation loss.
 */
export function trainHead(
  head: TrainableHead,
  features: Float32Array,
  table: LabelTable,
  options: TrainOptions,
  validationChunk = Infinity,
): TrainResult {
  checkTable(table);
  const tf = activeTf();
  const d = rowLength(head);
  const k = head.numClasses;
  if (table.classes.length !== k) throw new Error(`${head.name}.train: table has ${table.classes.length} classes, head has ${k}`);
  if (features.length !== table.n * d) throw new Error(`${head.name}.train: features must be [${table.n}, ${d}]`);
  const decay = options.weightDecay ?? 0;
  const validationRows = validationRowsOf(table);
  const validationX = validationRows.length > 0 ? gatherRows(features, d, validationRows) : null;
  const validationY = validationRows.flatMap((i) => Array.from(table.labels.subarray(i * k, i * k + k)));
  let best: { loss: number; epoch: number; weights: Float32Array[] } | undefined;
  const epochs = options.epochs ?? 10;
  const perEpoch = options.samplesPerEpoch ?? 1000;
  const batchSize = options.batchSize ?? 16;
  const w = options.entropyWeight ?? 0;
  const training = { rng: options.rng };
  const unlabeled = w > 0 ? unlabeledRows(table).filter((i) => !table.exclude[i]) : [];
  const result: TrainResult = { losses: [], entropy: [], validationLosses: [], keptEpoch: epochs - 1 };
  const gather = (rows: ArrayLike<number>) => gatherRows(features, d, rows);
  for (let e = 0; e < epochs; e++) {
    const sample = stratifiedSample(table, perEpoch, options.rng);
    for (let start = 0; start < perEpoch; start += batchSize) {
      const m = Math.min(batchSize, perEpoch - start);
      const xb = gather(sample.indices.subarray(start, start + m));
      const yb = sample.labels.subarray(start * k, (start + m) * k);
      const ub =
        unlabeled.length > 0
          ? gather(Array.from({ length: m }, () => unlabeled[options.rng.integer(0, unlabeled.length)]!))
          : null;
      let ent = 0;
      const loss = tf.tidy(() => {
        const x = tf.tensor(xb, [m, ...head.rowShape]);
        const y = tf.tensor2d(Int32Array.from(yb), [m, k], 'int32');
        const u = ub ? tf.tensor(ub, [m, ...head.rowShape]) : null;
        return head.optimizer.minimize(
          () => {
            let l = headLoss(head.output, y, head.probabilities(x, training), options.labelSmoothing ?? 0);
            if (decay > 0) l = tf.add(l, tf.mul(weightNorm(head), decay / 2));
            if (!u) return l;
            const en = entropyLoss(head.probabilities(u, training));
            ent = en.dataSync()[0]!;
            return tf.add(l, tf.mul(en, w));
          },
          true,
          head.vars,
        )!;
      });
      result.losses.push(loss.dataSync()[0]!);
      result.entropy.push(ent);
      loss.dispose();
    }
    if (validationX) {
      const n = validationRows.length;
      const p = mapRows(validationX, head.rowShape, Math.min(validationChunk, n), k, (x) => head.probabilities(x), head.name);
      const v = tf.tidy(
        () => headLoss(head.output, tf.tensor2d(Int32Array.from(validationY), [n, k], 'int32'), tf.tensor2d(p, [n, k])).dataSync()[0]!,
      );
      result.validationLosses.push(v);
      if (!best || v < best.loss) best = { loss: v, epoch: e, weights: head.vars.map((w) => w.dataSync().slice() as Float32Array) };
    }
  }
  if (best) {
    head.vars.forEach((w, i) => w.assign(tf.tensor(best!.weights[i]!, w.shape)));
    result.keptEpoch = best.epoch;
  }
  return result;
}
