// Chooses and initialises the tfjs backend. Every ml/ module gets `tf` from here (initBackend once, then activeTf()),
// so the whole process shares one tfjs-core instance and one backend.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { installWasmKernels } from './kernels/wasm/index.ts';
import { activeBackend, setActiveBackend, type ActiveBackend, type BackendChoice, type Tf } from './tf-instance.ts';

export { activeTf, activeBackend, type ActiveBackend, type BackendChoice, type Tf } from './tf-instance.ts';
export type Purpose = 'train' | 'infer';

export interface InitBackendOptions {
  purpose: Purpose;
  /** One of BackendChoice (aliases: gpu, node, tensorflow). Overrides PATCHWORK_BACKEND. */
  force?: string;
  /** Lets purpose 'train' run on the 'cpu' backend (also PATCHWORK_ALLOW_CPU_TRAINING=1). For tiny tests only. */
  allowCpuTraining?: boolean;
}

const ORDER: BackendChoice[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];
const ALIASES: Record<string, BackendChoice> = {
  'tfjs-node-gpu': 'tfjs-node-gpu',
  gpu: 'tfjs-node-gpu',
  'tensorflow-gpu': 'tfjs-node-gpu',
  'tfjs-node': 'tfjs-node',
  node: 'tfjs-node',
  tensorflow: 'tfjs-node',
  wasm: 'wasm',
  cpu: 'cpu',
};

export const CPU_TRAINING_REFUSED =
  'refusing to train on the pure-JavaScript "cpu" tfjs backend: it is about 3000x slower than the native TensorFlow ' +
  'backend, so a training run would take days. Fix: run `npm run setup` (it builds the native addon with ' +
  'scripts/setup-tfjs), or check why the native backend did not load (the log line above says). To train on "cpu" ' +
  'anyway, e.g. a tiny test, set PATCHWORK_ALLOW_CPU_TRAINING=1 (or initBackend({ allowCpuTraining: true })).';

const require = createRequire(import.meta.url);
let loadedNativePackage: string | undefined;
let wasmPathsSet = false;
const logged = new Set<string>();

export function parseBackendChoice(value: string, source: string): BackendChoice {
  const choice = ALIASES[value.trim().toLowerCase()];
  if (!choice) {
    throw new Error(
      `${source}="${value}" is not a tfjs backend; use one of ${ORDER.join(', ')} (or unset it to pick automatically)`,
    );
  }
  return choice;
}

export async function initBackend(options: InitBackendOptions): Promise<ActiveBackend> {
  if (options.purpose !== 'train' && options.purpose !== 'infer') {
    throw new Error(`initBackend: purpose must be 'train' or 'infer', got ${String(options.purpose)}`);
  }
  const forcedBy = options.force !== undefined ? 'initBackend force' : process.env.PATCHWORK_BACKEND ? 'PATCHWORK_BACKEND' : undefined;
  const forcedValue = options.force ?? process.env.PATCHWORK_BACKEND;
  const forced = forcedBy && forcedValue ? parseBackendChoice(forcedValue, forcedBy) : undefined;

  const allowCpuTraining = options.allowCpuTraining ?? process.env.PATCHWORK_ALLOW_CPU_TRAINING === '1';
  if (forced === 'cpu' && options.purpose === 'train' && !allowCpuTraining) {
    throw new Error(`${CPU_TRAINING_REFUSED}\n(cpu was forced by ${forcedBy}=${forcedValue})`);
  }
  const active = activeBackend();
  if (active && (forced === undefined || forced === active.choice)) {
    if (options.purpose === 'train' && active.choice === 'cpu' && !allowCpuTraining) throw new Error(CPU_TRAINING_REFUSED);
    return active;
  }

  let chosen: { choice: BackendChoice; tf: Tf; reason: string } | undefined;
  if (forced) {
    const tf = await load(forced); // a forced backend that fails to load is an error, not a silent fallback
    chosen = { choice: forced, tf, reason: `forced by ${forcedBy}=${forcedValue}` };
  } else {
    const skipped: string[] = [];
    for (const choice of ORDER) {
      if (choice === 'cpu' && options.purpose === 'train' && !allowCpuTraining) {
        throw new Error(`${CPU_TRAINING_REFUSED}\nTried first: ${skipped.join('; ')}`);
      }
      try {
        const tf = await load(choice);
        const tried = skipped.length ? ` (skipped ${skipped.join('; ')})` : '';
        chosen = { choice, tf, reason: `first backend that loaded${tried}` };
        break;
      } catch (error) {
        skipped.push(`${choice}: ${firstLine(error)}`);
      }
    }
  }
  if (!chosen) throw new Error('initBackend: no tfjs backend could be loaded'); // unreachable: cpu always loads

  const name = chosen.tf.getBackend();
  const backend: ActiveBackend = { name, ...chosen };
  setActiveBackend(backend);
  // The wasm backend lacks Conv2DBackpropFilter and has a wrong MaxPoolGrad; ours make every model train on it.
  if (chosen.choice === 'wasm') installWasmKernels();
  const line = `patchwork: tfjs backend ${name} (${chosen.choice}) for ${options.purpose}: ${chosen.reason}`;
  if (!logged.has(line)) {
    logged.add(line);
    process.stderr.write(`${line}\n`);
  }
  return backend;
}

async function load(choice: BackendChoice): Promise<Tf> {
  switch (choice) {
    case 'tfjs-node-gpu':
      return loadNative('@tensorflow/tfjs-node-gpu');
    case 'tfjs-node':
      return loadNative('@tensorflow/tfjs-node');
    case 'wasm':
      return loadWasm();
    case 'cpu': {
      const tf = await import('@tensorflow/tfjs');
      await setBackendOrThrow(tf, 'cpu');
      return tf;
    }
  }
}

async function loadNative(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'): Promise<Tf> {
  if (pkg === '@tensorflow/tfjs-node-gpu' && !existsSync('/dev/nvidiactl') && !existsSync('/proc/driver/nvidia')) {
    throw new Error('no NVIDIA driver on this machine');
  }
  if (loadedNativePackage !== undefined && loadedNativePackage !== pkg) {
    throw new Error(`${loadedNativePackage} is already loaded in this process; only one libtensorflow can be loaded`);
  }
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${pkg}/package.json`);
  } catch {
    throw new Error(`${pkg} is not installed`);
  }
  if (!existsSync(join(dirname(pkgJson), 'lib', 'napi-v8', 'tfjs_binding.node'))) {
    throw new Error(`${pkg} has no native addon built; run \`npm run setup\` (scripts/setup-tfjs)`);
  }
  // TensorFlow's C++ INFO lines (oneDNN, CPU features) are noise for us; keep warnings and errors.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const mod = (await import(pkg)) as Tf & { default?: Tf };
  const tf = mod.default ?? mod;
  loadedNativePackage = pkg;
  await setBackendOrThrow(tf, 'tensorflow');
  return tf;
}

async function loadWasm(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Local .wasm files from node_modules, never a CDN. Trailing slash: tfjs appends the file name to this prefix.
  const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
  if (!existsSync(join(wasmDir, 'tfjs-backend-wasm.wasm'))) {
    throw new Error(`no tfjs-backend-wasm.wasm in ${wasmDir}; reinstall @tensorflow/tfjs-backend-wasm`);
  }
  if (!tf.engine().registryFactory.wasm) {
    throw new Error('@tensorflow/tfjs-backend-wasm registered with a different tfjs-core; run `npm ls @tensorflow/tfjs-core`');
  }
  if (!wasmPathsSet) {
    wasm.setWasmPaths(wasmDir);
    wasmPathsSet = true;
  }
  await setBackendOrThrow(tf, 'wasm');
  return tf;
}

async function setBackendOrThrow(tf: Tf, name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`tf.setBackend('${name}') failed (active: ${tf.getBackend()})`);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
