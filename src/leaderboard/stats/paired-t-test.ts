import tCdf from '@stdlib/stats-base-dists-t-cdf';
import { pairwiseSum } from './descriptive-stats';

export interface PairedTTestResult {
  /** t statistic; ±Infinity for constant non-zero differences, null where SciPy gives nan. */
  t: number | null;
  /** Two-sided p-value; null where SciPy gives nan (fewer than two pairs, or all differences zero). */
  p: number | null;
}

const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

/** Elementwise a − b, the paired differences. */
export function differences(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  if (a.length !== b.length) throw new Error(`paired samples differ in length (${a.length} vs ${b.length})`);
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i] - b[i];
  return d;
}

/**
 * Paired two-sided t-test, equal to `scipy.stats.ttest_rel(a, b)` with its defaults: it is
 * `ttest_1samp(a − b, 0)`, whose variance is the mean squared deviation times n / (n − 1)
 * (not the sum over n − 1: the rounding differs), and whose p-value is 2 · T_{n−1}(−|t|).
 * Zero variance follows SciPy too: mean/0 → ±Infinity with p = 0, 0/0 → nan (null).
 */
export function pairedTTest(a: ArrayLike<number>, b: ArrayLike<number>): PairedTTestResult {
  const d = differences(a, b);
  const n = d.length;
  if (n === 0) return { t: null, p: null };
  const m = pairwiseSum(d) / n;
  const squares = new Float64Array(n);
  for (let i = 0; i < n; i++) squares[i] = (d[i] - m) * (d[i] - m);
  // n = 1 gives 0 · (1 / 0) = nan, as in SciPy.
  const variance = (pairwiseSum(squares) / n) * (n / (n - 1));
  const t = m / Math.sqrt(variance / n);
  const p = 2 * tCdf(-Math.abs(t), n - 1);
  return { t: orNull(t), p: orNull(p) };
}
