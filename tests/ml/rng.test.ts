import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Rng } from '../../ml/rng.ts';

// Reference stream from a separate Python transcription of splitmix32 + xoshiro128** (the authors' C code).
const pythonReference = String.raw`
import sys
M = 0xFFFFFFFF
def rotl(x, k): return ((x << k) | (x >> (32 - k))) & M
def splitmix32(seed):
    x = seed & M
    while True:
        x = (x + 0x9E3779B9) & M
        z = x
        z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M
        z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M
        yield z ^ (z >> 16)
seed = int(sys.argv[1])
lo, hi = seed & M, (seed >> 32) & M
g = splitmix32(lo ^ ((hi * 0x27D4EB2D) & M))
s = [next(g) for _ in range(4)]
out = []
for _ in range(int(sys.argv[2])):
    out.append(rotl((s[1] * 5) & M, 7) * 9 & M)
    t = (s[1] << 9) & M
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
    s[3] = rotl(s[3], 11)
print(" ".join(map(str, out)))
`;

test('raw stream matches an independent Python transcription of xoshiro128**', () => {
  for (const seed of [0, 42, 2 ** 40 + 7]) {
    const expected = execFileSync('python3', ['-c', pythonReference, String(seed), '8'], { encoding: 'utf8' })
      .trim()
      .split(' ')
      .map(Number);
    const rng = Rng.fromSeed(seed);
    assert.deepEqual(
      Array.from({ length: 8 }, () => rng.nextUint32()),
      expected,
      `seed ${seed}`,
    );
  }
});

test('state saved as JSON mid-stream resumes the identical sequence, including a pending normal', () => {
  const a = Rng.fromSeed(7);
  for (let i = 0; i < 13; i++) a.uniform();
  a.normal(); // leaves a spare normal in the state
  const saved = JSON.parse(JSON.stringify(a.state()));
  const b = Rng.fromState(saved);
  const drawA = [a.normal(), a.uniform(), a.integer(0, 1000), a.poisson(3), a.poisson(50)];
  const drawB = [b.normal(), b.uniform(), b.integer(0, 1000), b.poisson(3), b.poisson(50)];
  assert.deepEqual(drawA, drawB);
});

test('different seeds give different streams; same seed gives the same stream', () => {
  const draw = (seed: number) => Array.from({ length: 5 }, ((r) => () => r.nextUint32())(Rng.fromSeed(seed)));
  assert.deepEqual(draw(1), draw(1));
  assert.notDeepEqual(draw(1), draw(2));
});

// Tolerances: 6 standard errors of the sample statistic (false-failure odds ~1e-9 per check).
const N = 200_000;
function moments(draw: () => number): { mean: number; variance: number } {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < N; i++) {
    const x = draw();
    sum += x;
    sumSq += x * x;
  }
  const mean = sum / N;
  return { mean, variance: sumSq / N - mean * mean };
}

test('uniform(2, 5) has mean 3.5 and variance 9/12', () => {
  const rng = Rng.fromSeed(11);
  const { mean, variance } = moments(() => rng.uniform(2, 5));
  assert.ok(Math.abs(mean - 3.5) < 6 * Math.sqrt(0.75 / N), `mean ${mean}`);
  // Var of the sample variance of a uniform is (m4 - sigma^4)/N with m4 = (b-a)^4/80.
  assert.ok(Math.abs(variance - 0.75) < 6 * Math.sqrt((81 / 80 - 0.5625) / N), `variance ${variance}`);
});

test('normal(1, 2) has mean 1 and variance 4', () => {
  const rng = Rng.fromSeed(12);
  const { mean, variance } = moments(() => rng.normal(1, 2));
  assert.ok(Math.abs(mean - 1) < 6 * Math.sqrt(4 / N), `mean ${mean}`);
  assert.ok(Math.abs(variance - 4) < 6 * Math.sqrt((2 * 16) / N), `variance ${variance}`);
});

for (const lambda of [0.5, 4, 30, 400]) {
  test(`poisson(${lambda}) has mean and variance ${lambda} and integer values`, () => {
    const rng = Rng.fromSeed(13);
    let allIntegers = true;
    const { mean, variance } = moments(() => {
      const k = rng.poisson(lambda);
      if (!Number.isInteger(k) || k < 0) allIntegers = false;
      return k;
    });
    assert.ok(allIntegers);
    assert.ok(Math.abs(mean - lambda) < 6 * Math.sqrt(lambda / N), `mean ${mean}`);
    // Var of the sample variance of a Poisson: (mu4 - sigma^4)/N, mu4 = lambda(1 + 3 lambda).
    assert.ok(Math.abs(variance - lambda) < 6 * Math.sqrt((lambda + 2 * lambda * lambda) / N), `variance ${variance}`);
  });
}

test('integer(lo, hi) stays in range and is uniform (chi-square, 9 dof)', () => {
  const rng = Rng.fromSeed(14);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < N; i++) {
    const k = rng.integer(-3, 7);
    assert.ok(k >= -3 && k < 7);
    counts[k + 3]!++;
  }
  const expected = N / 10;
  const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 40, `chi2 ${chi2}`); // P(chi2_9 > 40) ~ 7e-6
});

test('weightedIndex follows the weights and never picks a zero weight', () => {
  const rng = Rng.fromSeed(15);
  const weights = [1, 0, 3];
  const counts = [0, 0, 0];
  for (let i = 0; i < N; i++) counts[rng.weightedIndex(weights)]!++;
  assert.equal(counts[1], 0);
  assert.ok(Math.abs(counts[2]! / N - 0.75) < 6 * Math.sqrt((0.75 * 0.25) / N));
});

test('bad input gets an error naming the input', () => {
  assert.throws(() => Rng.fromSeed(1.5), /seed must be a safe integer/);
  assert.throws(() => Rng.fromState({ algorithm: 'xoshiro128**', s: [0, 0, 0, 0], spareNormal: null }), /fromState/);
  const rng = Rng.fromSeed(1);
  assert.throws(() => rng.integer(5, 5), /lo < hi/);
  assert.throws(() => rng.poisson(-1), /lambda must be >= 0/);
  assert.throws(() => rng.normal(0, -1), /std must be >= 0/);
  assert.throws(() => rng.weightedIndex([0, 0]), /positive finite sum/);
});
