// One training step (forward + backward + SGD update), ours (tfjs on the active backend, with tfjs's own gradients and
// with ml/kernels/native installed) against TensorFlow 2.21 Python (eager and tf.function) in the same run.
// Contenders take turns round by round, so load from other work on the machine hits all of them alike.
// Usage: npm run bench:trainstep [-- --rounds 5 --steps 3 --size 128 --batch 32 --only a|b]
//   (a) 3-conv net: 3x3 convs 3->32 s1, 32->64 s2, 64->128 s2, bias + ReLU each, loss = mean; input 32x64x64x3
//   (b) BNAlexNetFCN (ml/models), loss = mean of the feature map, BN in training mode; input batch x size x size x 3
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { initBackend } from '../../ml/backend.ts';
import { installNativeKernels, uninstallNativeKernels } from '../../ml/kernels/native/index.ts';
import { bnAlexNetFcn } from '../../ml/models/index.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '3' },
    size: { type: 'string', default: '128' },
    batch: { type: 'string', default: '32' },
    only: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const steps = Number(values.steps);
const size = Number(values.size);
const batch = Number(values.batch);
const nets = values.only ? [values.only] : ['a', 'b'];

const { tf, name } = await initBackend({ purpose: 'train' });
const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ---- our contenders -------------------------------------------------------------------------------------------
type Step = () => void;
function makeA(): Step {
  const x = tf.randomNormal([32, 64, 64, 3], 0, 1, 'float32', 1);
  const shapes: [number, number, number][] = [
    [3, 32, 1],
    [32, 64, 2],
    [64, 128, 2],
  ];
  const params = shapes.map(([i, o], k) => ({
    w: tf.variable(tf.randomNormal([3, 3, i, o], 0, Math.sqrt(2 / (9 * i)), 'float32', 10 + k)),
    b: tf.variable(tf.zeros([o])),
  }));
  const opt = tf.train.sgd(0.01);
  const vars: Variable[] = params.flatMap((p) => [p.w, p.b]);
  return () => {
    const loss = opt.minimize(
      () => {
        let h: Tensor = x;
        params.forEach(
          (p, k) => (h = tf.relu(tf.add(tf.conv2d(h as never, p.w as never, shapes[k]![2], 'same'), p.b))),
        );
        return tf.mean(h);
      },
      true,
      vars,
    )!;
    loss.dataSync();
    loss.dispose();
  };
}
function makeB(): Step {
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 2);
  const model = bnAlexNetFcn({ channels: 3 });
  const opt = tf.train.sgd(0.01);
  return () => {
    const loss = opt.minimize(() => tf.mean(model.apply(x, { training: true }) as Tensor), true)!;
    loss.dataSync();
    loss.dispose();
  };
}

// ---- the Python peer: one long-lived process answering "<net> <mode> <steps>" with step times in ms ---------------
const py = String.raw`
import json, sys, time, os
import tensorflow as tf
if os.environ.get("TF_NUM_INTEROP_THREADS"):
    tf.config.threading.set_inter_op_parallelism_threads(int(os.environ["TF_NUM_INTEROP_THREADS"]))
size, batch = int(sys.argv[1]), int(sys.argv[2])
tf.random.set_seed(0)
xa = tf.random.normal([32, 64, 64, 3])
va = []
for i, o in [(3, 32), (32, 64), (64, 128)]:
    va += [tf.Variable(tf.random.normal([3, 3, i, o]) * (2 / (9 * i)) ** 0.5), tf.Variable(tf.zeros([o]))]
strides = [1, 2, 2]
opt_a = tf.keras.optimizers.SGD(0.01)
def loss_a():
    h = xa
    for k in range(3):
        h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h, va[2 * k], strides[k], "SAME"), va[2 * k + 1]))
    return tf.reduce_mean(h)
def step_a():
    with tf.GradientTape() as t:
        l = loss_a()
    opt_a.apply_gradients(zip(t.gradient(l, va), va))
    return l
L = tf.keras.layers
def conv(f, k, s): return [L.Conv2D(f, k, s, padding="same", activation="relu"), L.BatchNormalization(momentum=0.99, epsilon=1e-3)]
model = tf.keras.Sequential([tf.keras.Input((None, None, 3))] + conv(96, 11, 4) + [L.MaxPooling2D(3, 2)] + conv(256, 5, 1)
    + [L.MaxPooling2D(3, 2)] + conv(384, 3, 1) + conv(384, 3, 1) + conv(256, 3, 1) + [L.MaxPooling2D(3, 2)])
xb = tf.random.normal([batch, size, size, 3])
opt_b = tf.keras.optimizers.SGD(0.01)
def step_b():
    with tf.GradientTape() as t:
        l = tf.reduce_mean(model(xb, training=True))
    g = t.gradient(l, model.trainable_variables)
    opt_b.apply_gradients(zip(g, model.trainable_variables))
    return l
fns = {("a", "eager"): step_a, ("a", "function"): tf.function(step_a), ("b", "eager"): step_b, ("b", "function"): tf.function(step_b)}
print(json.dumps({"ready": tf.__version__}), flush=True)
for line in sys.stdin:
    net, mode, n = line.split()
    f = fns[(net, mode)]
    times = []
    for _ in range(int(n)):
        t0 = time.perf_counter(); f().numpy(); times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps(times), flush=True)
`;
const python = join(import.meta.dirname, '..', '..', '.tools', 'venv', 'bin', 'python');

/**
 * A long-lived Python peer. `interOpThreads` 1 makes graph execution run one op at a time, as eager execution (and
 * so tfjs) always does: the difference to the default is what running independent ops side by side is worth.
 */
async function pythonPeer(interOpThreads?: number) {
  const child = spawn(python, ['-c', py, String(size), String(batch)], {
    env: {
      ...process.env,
      TF_CPP_MIN_LOG_LEVEL: '3',
      ...(interOpThreads === undefined ? {} : { TF_NUM_INTEROP_THREADS: String(interOpThreads) }),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const readJson = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the Python peer exited');
    return JSON.parse(value as string);
  };
  const version = ((await readJson()) as { ready: string }).ready;
  const run = async (net: string, mode: string, n: number): Promise<number[]> => {
    child.stdin.write(`${net} ${mode} ${n}\n`);
    return (await readJson()) as number[];
  };
  return { version, run, close: () => child.stdin.end() };
}
const peer = await pythonPeer();
const serialPeer = await pythonPeer(1);
const tfVersion = peer.version;
const pyRun = peer.run;

function ours(stepFn: Step, native: boolean, n: number): number[] {
  if (native) installNativeKernels(tf);
  else uninstallNativeKernels(tf);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    stepFn();
    times.push(performance.now() - t0);
  }
  return times;
}

console.log(
  `trainstep: tfjs backend ${name}, TensorFlow ${tfVersion} Python peer; ${rounds} rounds x ${steps} steps`,
);
for (const net of nets) {
  const stepFn = net === 'a' ? makeA() : makeB();
  const label = net === 'a' ? '(a) 3-conv net, 32x64x64x3' : `(b) BNAlexNetFCN, ${batch}x${size}x${size}x3`;
  const contenders: Record<string, (n: number) => Promise<number[]> | number[]> = {
    'tfjs-node, tfjs gradients': (n) => ours(stepFn, false, n),
    'tfjs-node + ml/kernels/native': (n) => ours(stepFn, true, n),
    'TF Python eager': (n) => pyRun(net, 'eager', n),
    'TF Python tf.function': (n) => pyRun(net, 'function', n),
    'tf.function, 1 inter-op thread': (n) => serialPeer.run(net, 'function', n),
  };
  const times: Record<string, number[]> = {};
  for (const [k, run] of Object.entries(contenders)) {
    await run(2); // warm-up (tracing, allocator, first-use kernels)
    times[k] = [];
  }
  for (let r = 0; r < rounds; r++) {
    for (const [k, run] of Object.entries(contenders)) times[k]!.push(...(await run(steps)));
  }
  const eager = median(times['TF Python eager']!);
  const fn = median(times['TF Python tf.function']!);
  console.log(`\n${label}: median ms/step over ${rounds * steps} steps`);
  for (const k of Object.keys(contenders)) {
    const m = median(times[k]!);
    console.log(
      `  ${k.padEnd(32)} ${m.toFixed(1).padStart(8)} ms   ${(m / eager).toFixed(2)}x TF eager   ${(m / fn).toFixed(2)}x tf.function`,
    );
  }
}
uninstallNativeKernels(tf);
peer.close();
serialPeer.close();
