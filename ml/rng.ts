// A seedable PRNG whose whole state is a small JSON object, so a checkpoint can store it and a resumed run continues
// the exact same stream. Hand-written because the usual npm generators (seedrandom, pure-rand) either hide their state
// or do not offer normal/poisson draws on top of it.
//
// Generator: xoshiro128** (Blackman & Vigna), 4 x uint32 state, seeded through splitmix32 as its authors recommend.

export interface RngState {
  algorithm: 'xoshiro128**';
  s: [number, number, number, number];
  /** Second value of the last Box-Muller pair, not yet handed out. */
  spareNormal: number | null;
}

const TWO_POW_32 = 4294967296;

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function assertFiniteNumber(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`Rng: ${name} must be a finite number, got ${String(value)}`);
  }
}

export class Rng {
  private s: Uint32Array;
  private spareNormal: number | null;

  private constructor(s: Uint32Array, spareNormal: number | null) {
    this.s = s;
    this.spareNormal = spareNormal;
  }

  /** Any safe integer seed; its high and low 32-bit halves both feed the state. */
  static fromSeed(seed: number): Rng {
    if (!Number.isSafeInteger(seed)) {
      throw new TypeError(`Rng.fromSeed: seed must be a safe integer, got ${String(seed)}; round it or hash it first`);
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    const mix = splitmix32(lo ^ Math.imul(hi, 0x27d4eb2d));
    const s = new Uint32Array([mix(), mix(), mix(), mix()]);
    if (s.every((v) => v === 0)) s[0] = 1; // the all-zero state is a fixed point
    return new Rng(s, null);
  }

  static fromState(state: RngState): Rng {
    const ok =
      state != null &&
      state.algorithm === 'xoshiro128**' &&
      Array.isArray(state.s) &&
      state.s.length === 4 &&
      state.s.every((v) => Number.isInteger(v) && v >= 0 && v < TWO_POW_32) &&
      state.s.some((v) => v !== 0) &&
      (state.spareNormal === null || Number.isFinite(state.spareNormal));
    if (!ok) {
      throw new TypeError(
        `Rng.fromState: not a saved xoshiro128** state: ${JSON.stringify(state)}; pass the object returned by rng.state()`,
      );
    }
    return new Rng(Uint32Array.from(state.s), state.spareNormal);
  }

  state(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!], spareNormal: this.spareNormal };
  }

  /** An independent generator seeded from this one's stream (advances this one by two draws). */
  fork(): Rng {
    return Rng.fromSeed(this.nextUint32() * 2097152 + (this.nextUint32() >>> 11));
  }

  nextUint32(): number {
    const s = this.s;
    let s0 = s[0]!, s1 = s[1]!, s2 = s[2]!, s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    assertFiniteNumber('uniform lo', lo);
    assertFiniteNumber('uniform hi', hi);
    if (!(hi >= lo)) throw new RangeError(`Rng.uniform: need lo <= hi, got lo=${lo} hi=${hi}`);
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi), without modulo bias. */
  integer(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi <= lo) {
      throw new RangeError(`Rng.integer: need integers lo < hi, got lo=${lo} hi=${hi}`);
    }
    const span = hi - lo;
    if (span <= TWO_POW_32) {
      const limit = TWO_POW_32 - (TWO_POW_32 % span);
      let x = this.nextUint32();
      while (x >= limit) x = this.nextUint32();
      return lo + (x % span);
    }
    return lo + Math.floor(this.next() * span);
  }

  /** Normal draw (Box-Muller; the pair's second value is kept in the state for the next call). */
  normal(mean = 0, std = 1): number {
    assertFiniteNumber('normal mean', mean);
    assertFiniteNumber('normal std', std);
    if (std < 0) throw new RangeError(`Rng.normal: std must be >= 0, got ${std}`);
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Poisson draw: Knuth's product method for small means, Hörmann's PTRS rejection for lambda >= 10. */
  poisson(lambda: number): number {
    assertFiniteNumber('poisson lambda', lambda);
    if (lambda < 0) throw new RangeError(`Rng.poisson: lambda must be >= 0, got ${lambda}`);
    if (lambda === 0) return 0;
    if (lambda < 10) {
      const limit = Math.exp(-lambda);
      let k = 0;
      let p = this.next();
      while (p > limit) {
        k++;
        p *= this.next();
      }
      return k;
    }
    const slam = Math.sqrt(lambda);
    const loglam = Math.log(lambda);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.next() - 0.5;
      const v = this.next();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logFactorial(k)) {
        return k;
      }
    }
  }

  fillUniform(out: Float32Array | Float64Array, lo = 0, hi = 1): typeof out {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform(lo, hi);
    return out;
  }

  fillNormal(out: Float32Array | Float64Array, mean = 0, std = 1): typeof out {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
    return out;
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[] | Int32Array | Uint32Array | Float32Array): typeof items {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.integer(0, i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** Index drawn with probability proportional to weights[i] (non-negative, not all zero). */
  weightedIndex(weights: ArrayLike<number>, total?: number): number {
    let sum = total ?? 0;
    if (total === undefined) for (let i = 0; i < weights.length; i++) sum += weights[i]!;
    if (!(sum > 0) || !Number.isFinite(sum)) {
      throw new RangeError(`Rng.weightedIndex: weights must be non-negative with a positive finite sum, got ${sum}`);
    }
    let target = this.next() * sum;
    for (let i = 0; i < weights.length; i++) {
      target -= weights[i]!;
      if (target < 0) return i;
    }
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i; // float round-off at the end
    return weights.length - 1;
  }
}

function logFactorial(k: number): number {
  if (k < 2) return 0;
  if (k < 20) {
    let f = 1;
    for (let i = 2; i <= k; i++) f *= i;
    return Math.log(f);
  }
  // Stirling series; error below 1e-10 for k >= 20.
  return (k + 0.5) * Math.log(k) - k + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * k) - 1 / (360 * k * k * k);
}
