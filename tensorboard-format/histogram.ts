import type { HistogramBuckets } from './summary-values.ts';

/** TensorBoard's own default for tf.summary.histogram. */
export const DEFAULT_HISTOGRAM_BUCKETS = 30;

/**
 * Equal-width buckets between the smallest and largest value; the last bucket includes the maximum.
 * All-equal values get a unit-wide range centred on the value; no values give empty buckets on [0, 0].
 * Non-finite values are refused (a histogram cannot place them; log their count as a scalar instead).
 */
export function bucketize(
  values: ArrayLike<number>,
  bucketCount = DEFAULT_HISTOGRAM_BUCKETS,
  name = 'histogram',
): HistogramBuckets {
  if (!Number.isInteger(bucketCount) || bucketCount < 1) {
    throw new Error(`${name}: bucket count must be a positive integer, got ${bucketCount}`);
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      throw new Error(
        `${name}: value at index ${i} is ${v}; histograms need finite numbers (filter NaN/Inf first)`,
      );
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const counts = new Array<number>(bucketCount).fill(0);
  if (values.length === 0) {
    return { edges: new Array<number>(bucketCount + 1).fill(0), counts };
  }
  if (min === max) {
    min -= 0.5;
    max += 0.5;
    if (min === max) {
      // Too large for a unit-wide range to be representable: one bucket holds every value.
      counts[Math.floor(bucketCount / 2)] = values.length;
      return { edges: new Array<number>(bucketCount + 1).fill(min), counts };
    }
  }
  // The range of two finite values can overflow to Infinity; halving every value keeps the proportions.
  const scale = Number.isFinite(max - min) ? 1 : 0.5;
  const lo = min * scale;
  const width = (max * scale - lo) / bucketCount;
  const edges = Array.from({ length: bucketCount + 1 }, (_, i) =>
    i === bucketCount ? max : (lo + i * width) / scale,
  );
  for (let i = 0; i < values.length; i++) {
    const index = Math.min(bucketCount - 1, Math.floor((values[i] * scale - lo) / width));
    counts[index]++;
  }
  return { edges, counts };
}
