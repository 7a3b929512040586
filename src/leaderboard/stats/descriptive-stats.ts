import tQuantileImpl from '@stdlib/stats-base-dists-t-quantile';

/** A two-sided interval. */
export interface Interval {
  low: number;
  high: number;
}

/** NumPy's unrolled block for its pairwise summation (`PW_BLOCKSIZE` in numpy's loops_utils). */
const PAIRWISE_BLOCK = 128;

/**
 * Sum in exactly the order NumPy's `add.reduce` uses for a contiguous float64 array
 * (sequential below 8 items, eight interleaved accumulators up to 128, halving above).
 * Our results must equal SciPy's, and where a variance is nothing but rounding noise
 * (constant differences that are not exact in binary) only the same order gives the same
 * statistic.
 */
export function pairwiseSum(values: ArrayLike<number>, start = 0, length = values.length - start): number {
  if (length < 8) {
    let sum = -0;
    for (let i = start; i < start + length; i++) sum += values[i];
    return sum;
  }
  if (length <= PAIRWISE_BLOCK) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => values[start + j]);
    const unrolled = length - (length % 8);
    let i = 8;
    for (; i < unrolled; i += 8) {
      for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    }
    // prettier-ignore
    let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < length; i++) sum += values[start + i];
    return sum;
  }
  let half = Math.floor(length / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, length - half);
}

/** Arithmetic mean (NumPy's `mean`); null for no values. */
export function mean(values: ArrayLike<number>): number | null {
  if (values.length === 0) return null;
  return pairwiseSum(values) / values.length;
}

/** Sample standard deviation with n − 1 in the denominator (NumPy's `std(ddof=1)`); null for n < 2. */
export function sampleStdDev(values: ArrayLike<number>): number | null {
  const n = values.length;
  if (n < 2) return null;
  const m = pairwiseSum(values) / n;
  const squares = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const deviation = values[i] - m;
    squares[i] = deviation * deviation;
  }
  return Math.sqrt(pairwiseSum(squares) / (n - 1));
}

/** Quantile of Student's t distribution (SciPy's `t.ppf(p, df)`); NaN outside its domain. */
export function tQuantile(p: number, df: number): number {
  return tQuantileImpl(p, df);
}

/**
 * 95 % confidence interval of the mean: mean ± t(0.975, n − 1) · sd / √n.
 * Null for fewer than two values, where the contract reports no interval.
 */
export function meanCi95(values: ArrayLike<number>): Interval | null {
  const n = values.length;
  const sd = sampleStdDev(values);
  if (sd === null) return null;
  const m = pairwiseSum(values) / n;
  const half = (tQuantile(0.975, n - 1) * sd) / Math.sqrt(n);
  return { low: m - half, high: m + half };
}
