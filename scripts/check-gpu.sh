#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds the tfjs-node-gpu addon against the CUDA tensorflow wheel (if not yet built)
# and checks that patchwork's backend selection picks it and that TensorFlow really runs ops on the GPU.
# Exit 0 = the GPU is used; anything else prints what failed and the fix. Needs PyPI and npm reachable the first time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
fail() {
  echo "check-gpu: FAIL: $1" >&2
  echo "check-gpu:   fix: $2" >&2
  exit 1
}

command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: no NVIDIA driver here" "run this on a GPU machine with the driver installed"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || fail "nvidia-smi cannot talk to the driver" "check the driver (dmesg, nvidia-smi)"

TFJS_VERSION="$(node -p "require('@tensorflow/tfjs-node/package.json').version")"
if [[ ! -f node_modules/@tensorflow/tfjs-node-gpu/package.json ]]; then
  echo "check-gpu: installing @tensorflow/tfjs-node-gpu@$TFJS_VERSION (--ignore-scripts, not saved to package.json)" >&2
  npm install --ignore-scripts --no-save --no-audit --no-fund "@tensorflow/tfjs-node-gpu@$TFJS_VERSION"
fi
[[ -x .tools/venv-gpu/bin/python ]] || python3 -m venv .tools/venv-gpu
PATCHWORK_GPU=1 bash scripts/setup-tfjs

# Watches nvidia-smi while a matmul loop runs, so "GPU used" is seen from the driver, not only from TensorFlow.
node --import tsx --input-type=module - <<'JS'
import { execFileSync } from 'node:child_process';
import { initBackend } from './ml/backend.ts';
const { tf, choice, reason } = await initBackend({ purpose: 'train' });
if (choice !== 'tfjs-node-gpu') throw new Error(`backend is ${choice}, not tfjs-node-gpu (${reason})`);
if (tf.backend().isUsingGpuDevice !== true) throw new Error('tfjs-node-gpu loaded but TensorFlow found no GPU device (CUDA libraries missing? see docs/native-backend.md)');
const a = tf.randomNormal([4096, 4096]);
const t0 = performance.now();
let sum = 0;
for (let i = 0; i < 20; i++) sum += tf.tidy(() => tf.sum(tf.matMul(a, a)).dataSync()[0]);
const seconds = (performance.now() - t0) / 1000;
const apps = execFileSync('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader'], { encoding: 'utf8' });
const mine = apps.split('\n').find((line) => line.split(',')[0]?.trim() === String(process.pid));
if (!mine) throw new Error(`nvidia-smi does not list this process (pid ${process.pid}) as a GPU user:\n${apps}`);
const tflops = (20 * 2 * 4096 ** 3) / seconds / 1e12;
console.log(`check-gpu: PASS: ${choice}, nvidia-smi sees pid ${process.pid} (${mine.split(',')[1]?.trim()}), 20 matmuls 4096^2 in ${seconds.toFixed(2)} s = ${tflops.toFixed(1)} TFLOP/s (checksum ${sum.toExponential(2)})`);
JS
