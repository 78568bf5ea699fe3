// Data generators and a scikit-learn bridge shared by the cluster tests (not a test file itself).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../ml/rng.ts';
import { venvPython } from '../helpers/paths.ts';

export interface Blobs {
  data: Float32Array;
  labels: Int32Array;
  n: number;
  d: number;
}

/** `perBlob` rows around each of `centers` random centres in [-spread, spread]^d, unit-variance noise. */
export function gaussianBlobs(rng: Rng, centers: number, perBlob: number, d: number, spread: number): Blobs {
  const means = Array.from({ length: centers }, () => Array.from({ length: d }, () => rng.uniform(-spread, spread)));
  const n = centers * perBlob;
  const data = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % centers;
    labels[i] = c;
    for (let j = 0; j < d; j++) data[i * d + j] = means[c]![j]! + rng.normal();
  }
  return { data, labels, n, d };
}

/** Runs a Python snippet in .tools/venv with `X` (float32 [n, d]) loaded; the snippet prints one JSON line. */
export function runSklearn(x: Float32Array, n: number, d: number, body: string, extra: Record<string, unknown> = {}): any {
  const dir = mkdtempSync(join(tmpdir(), 'patchwork-sklearn-'));
  try {
    writeFileSync(join(dir, 'x.f32'), x);
    writeFileSync(join(dir, 'extra.json'), JSON.stringify(extra));
    const script = [
      'import json, sys, numpy as np',
      `X = np.fromfile(sys.argv[1] + '/x.f32', dtype=np.float32).reshape(${n}, ${d})`,
      "extra = json.load(open(sys.argv[1] + '/extra.json'))",
      body,
    ].join('\n');
    const out = execFileSync(venvPython, ['-c', script, dir], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2' },
    });
    return JSON.parse(out.trim().split('\n').pop()!);
  } catch (error) {
    throw new Error(
      `scikit-learn reference failed (is it in .tools/venv? ${venvPython} -m pip install scikit-learn): ${String(error)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
