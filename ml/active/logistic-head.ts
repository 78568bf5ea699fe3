// The default head: one-vs-rest logistic regression per class on standardised features, with balanced class weights
// (a class at 2 % counts as much as one at 50 %) and an L2 strength C chosen per class on held-out labels: the
// project's validation images when that class has both answers among them, else stratified k-fold cross-validation
// on the training labels (pooled out-of-fold ROC AUC, the smaller C on ties). A class too rare to cross-validate takes
// the geometric mean of the other classes' choices. Fitted from scratch every round: deterministic and warm-start free.
import { fitLogistic } from './logistic-fit.ts';
import { rocAuc } from './metrics.ts';
import { Standardizer, type ScalerState } from './scaler.ts';
import { checkTable, type LabelTable } from './table.ts';
import { Rng } from '../rng.ts';

/** The grid of C (scikit-learn's convention: C multiplies the summed loss). */
export const LOGISTIC_CS = [1e-4, 1e-3, 1e-2, 1e-1, 1, 10] as const;
/** C for every class when no class has enough labels to cross-validate. */
export const FALLBACK_C = 0.1;
const MAX_FOLDS = 3;
const MAX_SELECTION_ROWS = 2000;

export interface LogisticHeadOptions {
  seed: number;
  /** Optimizer iterations per fit (default 300). */
  iterations?: number;
  cs?: readonly number[];
}

export interface LogisticHeadState {
  kind: 'logistic';
  classes: string[];
  inputDim: number;
  scaler: ScalerState;
  /** [inputDim, k] weights in standardised units, row-major. */
  weights: number[];
  bias: number[];
  /** Chosen C per class (null: the class had no positive or no negative label; it predicts its label rate). */
  c: (number | null)[];
  /** How each class's C was chosen. */
  selectedBy: ('validation' | 'cross-validation' | 'fallback' | 'constant')[];
}

interface Column {
  c: number;
  lambdaC: number;
  /** Rows (table indices) the column trains on. */
  train: number[];
}

export class LogisticHead {
  readonly kind = 'logistic';
  private constructor(
    readonly state: LogisticHeadState,
    private readonly scaler: Standardizer,
  ) {}

  get numClasses(): number {
    return this.state.classes.length;
  }

  static fromJSON(state: LogisticHeadState): LogisticHead {
    const k = state.classes.length;
    if (state.weights.length !== state.inputDim * k || state.bias.length !== k)
      throw new Error(`LogisticHead: weights must be [${state.inputDim}, ${k}] and bias [${k}]`);
    return new LogisticHead(state, Standardizer.fromJSON(state.scaler));
  }

  toJSON(): LogisticHeadState {
    return this.state;
  }

  /** features: every embedded image [table.n, dim] (the scaler sees them all); labels from `table`. */
  static fit(features: Float32Array, table: LabelTable, options: LogisticHeadOptions): LogisticHead {
    checkTable(table);
    const n = table.n;
    const d = features.length / Math.max(n, 1);
    if (!Number.isInteger(d) || n === 0) throw new Error(`LogisticHead.fit: features must be [${n}, d]`);
    const k = table.classes.length;
    const cs = options.cs ?? LOGISTIC_CS;
    const scaler = Standardizer.fit(features, d);
    const rng = Rng.fromSeed(options.seed);
    const labelled = (i: number) => {
      for (let c = 0; c < k; c++) if (table.labels[i * k + c] !== -1) return true;
      return false;
    };
    const rows = Array.from({ length: n }, (_, i) => i).filter((i) => !table.exclude[i] && labelled(i));
    const label = (i: number, c: number) => table.labels[i * k + c]!;
    // Choosing C fits |C grid| x folds problems per class; past MAX_SELECTION_ROWS labelled images it looks at a
    // seeded sample of them (the final fit uses every label).
    const selectionRows =
      rows.length > MAX_SELECTION_ROWS
        ? (rng.shuffle(rows.slice()) as number[]).slice(0, MAX_SELECTION_ROWS).sort((a, b) => a - b)
        : rows;
    const inSelection = new Set(selectionRows);

    // Selection columns: (class, C) trained on part of the labels and scored on the rest.
    const selection: { column: Column; score: number[] }[] = [];
    const plans: ({ by: 'validation' | 'cross-validation'; first: number; folds: number } | undefined)[] = [];
    const trainRows: number[][] = [];
    for (let c = 0; c < k; c++) {
      trainRows.push(rows.filter((i) => !table.validation[i] && label(i, c) !== -1));
      const train = trainRows[c]!.filter((i) => inSelection.has(i));
      const valid = selectionRows.filter((i) => table.validation[i] && label(i, c) !== -1);
      const pos = train.filter((i) => label(i, c) === 1);
      const neg = train.filter((i) => label(i, c) === 0);
      const validPos = valid.filter((i) => label(i, c) === 1).length;
      const first = selection.length;
      if (pos.length > 0 && neg.length > 0 && validPos > 0 && validPos < valid.length) {
        plans.push({ by: 'validation', first, folds: 1 });
        for (const C of cs) selection.push({ column: { c, lambdaC: C, train }, score: valid });
      } else if (Math.min(pos.length, neg.length) >= 2) {
        const folds = Math.min(MAX_FOLDS, pos.length, neg.length);
        plans.push({ by: 'cross-validation', first, folds });
        const foldOf = new Map<number, number>();
        for (const group of [pos, neg])
          rng.shuffle(group.slice()).forEach((i, j) => foldOf.set(i as number, j % folds));
        for (const C of cs)
          for (let f = 0; f < folds; f++)
            selection.push({
              column: { c, lambdaC: C, train: train.filter((i) => foldOf.get(i) !== f) },
              score: train.filter((i) => foldOf.get(i) === f),
            });
      } else plans.push(undefined);
    }
    const design = (on: number[]) => ({
      rows: on,
      position: new Map(on.map((i, r) => [i, r])),
      x: scaler.transform(features, on),
    });
    type Design = ReturnType<typeof design>;
    const solve = (columns: Column[], { rows, position, x }: Design) => {
      const m = columns.length;
      const targets = new Float32Array(rows.length * m);
      const weights = new Float32Array(rows.length * m);
      const lambdas = new Float32Array(m);
      columns.forEach((col, j) => {
        const pos = col.train.filter((i) => label(i, col.c) === 1).length;
        const neg = col.train.length - pos;
        for (const i of col.train) {
          const r = position.get(i)!;
          const y = label(i, col.c);
          targets[r * m + j] = y;
          weights[r * m + j] = y === 1 ? 1 / (2 * pos) : 1 / (2 * neg);
        }
        lambdas[j] = 1 / (col.lambdaC * col.train.length);
      });
      return {
        m,
        ...fitLogistic({ x, n: rows.length, d, targets, weights, lambdas, iterations: options.iterations }),
      };
    };
    const scoreOf = (
      sol: { w: Float32Array; b: Float32Array; m: number },
      { position, x }: Design,
      j: number,
      i: number,
    ) => {
      const r = position.get(i)!;
      let z = sol.b[j]!;
      for (let t = 0; t < d; t++) z += x[r * d + t]! * sol.w[t * sol.m + j]!;
      return z;
    };

    const chosen: (number | undefined)[] = new Array(k).fill(undefined);
    if (selection.length > 0) {
      const selectionDesign = design(selectionRows);
      const sol = solve(
        selection.map((s) => s.column),
        selectionDesign,
      );
      plans.forEach((plan, c) => {
        if (!plan) return;
        const perC = plan.folds;
        let best = -Infinity;
        cs.forEach((C, ci) => {
          const scores: number[] = [];
          const truth: number[] = [];
          for (let f = 0; f < perC; f++) {
            const j = plan.first + ci * perC + f;
            for (const i of selection[j]!.score) {
              scores.push(scoreOf(sol, selectionDesign, j, i));
              truth.push(label(i, c));
            }
          }
          const auc = rocAuc(scores, truth);
          if (auc > best + 1e-9) {
            best = auc;
            chosen[c] = C;
          }
        });
      });
    }
    const picked = chosen.filter((v): v is number => v !== undefined);
    const fallback =
      picked.length > 0 ? Math.exp(picked.reduce((a, v) => a + Math.log(v), 0) / picked.length) : FALLBACK_C;

    const selectedBy: LogisticHeadState['selectedBy'] = [];
    const finalColumns: Column[] = [];
    const cOut: (number | null)[] = [];
    for (let c = 0; c < k; c++) {
      const train = trainRows[c]!;
      const pos = train.filter((i) => label(i, c) === 1).length;
      if (pos === 0 || pos === train.length) {
        selectedBy.push('constant');
        cOut.push(null);
        continue;
      }
      const C = chosen[c] ?? fallback;
      selectedBy.push(chosen[c] !== undefined ? plans[c]!.by : 'fallback');
      cOut.push(C);
      finalColumns.push({ c, lambdaC: C, train });
    }
    const weights = new Array<number>(d * k).fill(0);
    const bias = new Array<number>(k).fill(0);
    for (let c = 0; c < k; c++) {
      if (cOut[c] !== null) continue;
      const train = trainRows[c]!;
      const pos = train.filter((i) => label(i, c) === 1).length;
      const rate = (pos + 0.5) / (train.length + 1);
      bias[c] = Math.log(rate / (1 - rate));
    }
    if (finalColumns.length > 0) {
      const sol = solve(finalColumns, design(rows));
      finalColumns.forEach((col, j) => {
        for (let t = 0; t < d; t++) weights[t * k + col.c] = sol.w[t * sol.m + j]!;
        bias[col.c] = sol.b[j]!;
      });
    }
    const state: LogisticHeadState = {
      kind: 'logistic',
      classes: [...table.classes],
      inputDim: d,
      scaler: scaler.toJSON(),
      weights,
      bias,
      c: cOut,
      selectedBy,
    };
    return new LogisticHead(state, scaler);
  }

  /** Probabilities [n, k] for raw features [n, inputDim]. */
  predict(features: Float32Array): Float32Array {
    const d = this.state.inputDim;
    const k = this.numClasses;
    const n = features.length / d;
    if (!Number.isInteger(n)) throw new Error(`LogisticHead.predict: features must be rows of ${d}`);
    const out = new Float32Array(n * k);
    const w = this.state.weights;
    const z = new Float64Array(k);
    const { mean, scale } = this.scaler;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) z[c] = this.state.bias[c]!;
      for (let t = 0; t < d; t++) {
        // Rounded as the standardised features are stored (float32), so predictions match the fitted scores.
        const v = Math.fround((features[i * d + t]! - mean[t]!) / scale[t]!);
        if (v === 0) continue;
        const row = t * k;
        for (let c = 0; c < k; c++) z[c] += v * w[row + c]!;
      }
      for (let c = 0; c < k; c++) out[i * k + c] = 1 / (1 + Math.exp(-z[c]!));
    }
    return out;
  }

  /** The representation the weights see: standardised features (BADGE's gradient embedding uses it). */
  embed(features: Float32Array): { data: Float32Array; dim: number } {
    return { data: this.scaler.transform(features), dim: this.state.inputDim };
  }

  dispose(): void {}
}
