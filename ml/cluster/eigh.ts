// Eigendecomposition of a symmetric d x d matrix (tfjs has no eig op). On the native backend we call TensorFlow's own
// SelfAdjointEigV2 kernel through tfjs-node's op executor; elsewhere a cyclic Jacobi in Float64 (fine up to d ~ 512,
// minutes at d = 4096).
import { activeTf, type Tf } from '../backend.ts';

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Row i (d values) is the unit eigenvector of values[i]. */
  vectors: Float64Array;
}

interface NativeOpBackend {
  binding: { TF_ATTR_BOOL: number; TF_ATTR_TYPE: number; TF_FLOAT: number };
  executeMultipleOutputs(name: string, attrs: object[], inputs: unknown[], numOutputs: number): Array<{ dataSync(): Float32Array; dispose(): void }>;
}

function nativeBackend(tf: Tf): NativeOpBackend | undefined {
  const backend = tf.backend() as unknown as Partial<NativeOpBackend>;
  return tf.getBackend() === 'tensorflow' && typeof backend.executeMultipleOutputs === 'function' && backend.binding
    ? (backend as NativeOpBackend)
    : undefined;
}

export function symmetricEigen(matrix: Float64Array, d: number): SymmetricEigen {
  if (matrix.length !== d * d) throw new Error(`symmetricEigen: matrix has ${matrix.length} values, expected ${d}x${d}`);
  const tf = activeTf();
  const native = nativeBackend(tf);
  return native ? eigenNative(tf, native, matrix, d) : eigenJacobi(matrix, d);
}

function eigenNative(tf: Tf, backend: NativeOpBackend, matrix: Float64Array, d: number): SymmetricEigen {
  const input = tf.tensor2d(Float32Array.from(matrix), [d, d]);
  const attrs = [
    { name: 'compute_v', type: backend.binding.TF_ATTR_BOOL, value: true },
    { name: 'T', type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT },
  ];
  const [e, v] = backend.executeMultipleOutputs('SelfAdjointEigV2', attrs, [input], 2);
  input.dispose();
  const ascending = e!.dataSync();
  const columns = v!.dataSync(); // column j is the eigenvector of ascending[j]
  e!.dispose();
  v!.dispose();
  const values = new Float64Array(d);
  const vectors = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const j = d - 1 - i;
    values[i] = ascending[j]!;
    for (let r = 0; r < d; r++) vectors[i * d + r] = columns[r * d + j]!;
  }
  return { values, vectors };
}

export function eigenJacobi(matrix: Float64Array, d: number, maxSweeps = 100): SymmetricEigen {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  let total = 0;
  for (let i = 0; i < d * d; i++) total += a[i]! * a[i]!;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p * d + q]! * a[p * d + q]!;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (apq === 0) continue;
        const theta = (a[q * d + q]! - a[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p]!;
          const akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!;
          const aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!;
          const vkq = v[k * d + q]!;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => a[j * d + j]! - a[i * d + i]!);
  const values = new Float64Array(d);
  const vectors = new Float64Array(d * d);
  order.forEach((col, i) => {
    values[i] = a[col * d + col]!;
    for (let r = 0; r < d; r++) vectors[i * d + r] = v[r * d + col]!;
  });
  return { values, vectors };
}
