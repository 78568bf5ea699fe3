// Many L2-regularised, sample-weighted logistic regressions on one design matrix, fitted together so that a
// cross-validation grid (class x C x fold) costs a few matrix products per iteration instead of hundreds of solver
// runs. Column j minimises
//   sum_i s_ij * logloss(y_ij, x_i . w_j + b_j) / sum_i s_ij  +  lambda_j / 2 * |w_j|^2     (b_j not penalised)
// by Nesterov's accelerated gradient with step 1/L_j, where L_j bounds the curvature (power iteration on the weighted
// Gram matrix). A fixed iteration count keeps the result deterministic for a given backend.
import type { Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';

export interface LogisticProblem {
  /** Rows [n, d] (standardised features). */
  x: Float32Array;
  n: number;
  d: number;
  /** [n, m] 0/1 targets, one column per problem. */
  targets: Float32Array;
  /** [n, m] sample weights (0 leaves a row out of that problem). */
  weights: Float32Array;
  /** [m] L2 strengths. */
  lambdas: Float32Array;
  iterations?: number;
}

export interface LogisticSolution {
  /** [d, m] weights. */
  w: Float32Array;
  /** [m] intercepts. */
  b: Float32Array;
}

const POWER_ITERATIONS = 20;
/** Power iteration approaches the largest eigenvalue from below; the margin keeps the step inside 1/L. */
const CURVATURE_MARGIN = 1.3;

export function fitLogistic(problem: LogisticProblem): LogisticSolution {
  const { n, d } = problem;
  const m = problem.lambdas.length;
  if (problem.x.length !== n * d) throw new Error(`fitLogistic: x must be [${n}, ${d}]`);
  if (problem.targets.length !== n * m || problem.weights.length !== n * m)
    throw new Error(`fitLogistic: targets and weights must be [${n}, ${m}]`);
  if (m === 0) return { w: new Float32Array(0), b: new Float32Array(0) };
  const tf = activeTf();
  const iterations = problem.iterations ?? 300;
  const x = tf.tidy(() => tf.concat([tf.tensor2d(problem.x, [n, d]), tf.ones([n, 1])], 1) as Tensor2D);
  const xt = tf.transpose(x) as Tensor2D;
  const y = tf.tensor2d(problem.targets, [n, m]);
  const s = tf.tidy(() => {
    const raw = tf.tensor2d(problem.weights, [n, m]);
    return tf.div(raw, tf.maximum(tf.sum(raw, 0, true), 1e-12)) as Tensor2D;
  });
  // Penalty per parameter: lambda_j on the d weights, 0 on the intercept row.
  const penalty = tf.tidy(
    () =>
      tf.mul(
        tf.concat([tf.ones([d, 1]), tf.zeros([1, 1])], 0),
        tf.tensor2d(problem.lambdas, [1, m]),
      ) as Tensor2D,
  );
  const curvature = tf.tidy(() => {
    let v = tf.div(tf.ones([d + 1, m]), Math.sqrt(d + 1)) as Tensor2D;
    let norm = tf.ones([1, m]);
    for (let t = 0; t < POWER_ITERATIONS; t++) {
      const u = tf.matMul(xt, tf.mul(s, tf.matMul(x, v))) as Tensor2D;
      norm = tf.maximum(tf.norm(u, 'euclidean', 0, true), 1e-12);
      v = tf.div(u, norm) as Tensor2D;
    }
    return tf.add(tf.mul(norm, 0.25 * CURVATURE_MARGIN), tf.tensor2d(problem.lambdas, [1, m])) as Tensor2D;
  });
  const step = tf.tidy(() => tf.div(1, curvature) as Tensor2D);
  const rootL = curvature.sqrt();
  const rootMu = tf.sqrt(tf.tensor2d(problem.lambdas, [1, m]));
  const strongMomentum = tf.tidy(() => tf.div(tf.sub(rootL, rootMu), tf.add(rootL, rootMu)) as Tensor2D);
  let w = tf.zeros([d + 1, m]) as Tensor2D;
  let z = w.clone();
  for (let t = 0; t < iterations; t++) {
    const next = tf.tidy(() => {
      const residual = tf.mul(s, tf.sub(tf.sigmoid(tf.matMul(x, z)), y));
      const gradient = tf.add(tf.matMul(xt, residual), tf.mul(penalty, z));
      const wNext = tf.sub(z, tf.mul(step, gradient)) as Tensor2D;
      // The strongly convex momentum, or FISTA's (t/(t+3)) where the penalty is too weak to matter yet.
      const beta = tf.minimum(strongMomentum, t / (t + 3));
      const zNext = tf.add(wNext, tf.mul(beta, tf.sub(wNext, w))) as Tensor2D;
      return [wNext, zNext] as const;
    });
    w.dispose();
    z.dispose();
    [w, z] = next;
  }
  const all = w.dataSync() as Float32Array;
  tf.dispose([x, xt, y, s, penalty, curvature, step, rootL, rootMu, strongMomentum, w, z]);
  return { w: all.slice(0, d * m), b: all.slice(d * m, (d + 1) * m) };
}
