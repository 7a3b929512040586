import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { differences } from './paired-t-test';

/**
 * How the p-value was obtained, following SciPy 1.17's `wilcoxon(method='auto')`:
 * - `exact`: n ≤ 50 pairs, no zero differences and no tied |differences| → the exact null
 *   distribution of R+ over the 2^n sign patterns;
 * - `permutation`: n ≤ 13 pairs with zeros or ties → SciPy runs `permutation_test` over all
 *   2^n sign flips (exhaustive, hence deterministic): the same enumeration, done here by
 *   dynamic programming over the (average) ranks;
 * - `asymptotic`: otherwise → normal approximation without continuity correction, zeros
 *   dropped, tie-corrected variance;
 * - `none`: no p-value (no pairs; or one pair with a zero difference, which SciPy rejects).
 */
export type WilcoxonMethod = 'exact' | 'permutation' | 'asymptotic' | 'none';

export interface WilcoxonResult {
  /** min(R+, R−), SciPy's two-sided statistic; null when there is no p-value either. */
  statistic: number | null;
  /** Two-sided p-value; null where SciPy gives nan or refuses the input. */
  p: number | null;
  method: WilcoxonMethod;
}

/** SciPy's `auto` switches to the normal approximation above this many pairs. */
const EXACT_MAX_PAIRS = 50;
/** 2^13 sign patterns fit in `permutation_test`'s default 9 999 resamples, so it enumerates them all. */
const PERMUTATION_MAX_PAIRS = 13;

interface SignedRanks {
  /** Doubled average ranks (integers) of the non-zero |d|, ranked among themselves. */
  doubledRanks: number[];
  /** Doubled R+ (sum of doubled ranks of positive differences). */
  doubledRPlus: number;
  /** Σ (t³ − t) over groups of tied |d|. */
  tieCorrection: number;
  hasTies: boolean;
}

/** Ranks of the non-zero |differences| with ties averaged (zeros dropped: zero_method='wilcox'). */
function signedRanks(d: Float64Array): SignedRanks {
  const nonZero = Array.from(d).filter((x) => x !== 0);
  const order = nonZero.map((_, i) => i).sort((i, j) => Math.abs(nonZero[i]) - Math.abs(nonZero[j]));
  const doubledRanks = new Array<number>(nonZero.length);
  let doubledRPlus = 0;
  let tieCorrection = 0;
  let hasTies = false;
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    const magnitude = Math.abs(nonZero[order[start]]);
    while (end < order.length && Math.abs(nonZero[order[end]]) === magnitude) end++;
    const count = end - start;
    // Positions start+1 … end share the average rank start + (count + 1) / 2; doubled it is an integer.
    const doubled = 2 * start + count + 1;
    for (let k = start; k < end; k++) {
      doubledRanks[order[k]] = doubled;
      if (nonZero[order[k]] > 0) doubledRPlus += doubled;
    }
    if (count > 1) {
      hasTies = true;
      tieCorrection += count * count * count - count;
    }
    start = end;
  }
  return { doubledRanks, doubledRPlus, tieCorrection, hasTies };
}

/**
 * Null distribution of 2·R+ when each rank is positive or negative with probability ½:
 * `counts[s]` = number of sign patterns (of 2^ranks.length) whose doubled R+ equals s.
 * Subset-sum counting; every count stays below 2^50 for n ≤ 50, so doubles hold them exactly.
 */
export function signedRankNullCounts(doubledRanks: readonly number[]): number[] {
  const total = doubledRanks.reduce((sum, r) => sum + r, 0);
  const counts = new Array<number>(total + 1).fill(0);
  counts[0] = 1;
  let reach = 0;
  for (const r of doubledRanks) {
    for (let s = reach; s >= 0; s--) if (counts[s] !== 0) counts[s + r] += counts[s];
    reach += r;
  }
  return counts;
}

/** Two-sided p from an enumerated null: 2 · min(P(S ≤ s), P(S ≥ s)), capped at 1. */
function enumeratedPValue(counts: readonly number[], observed: number, patterns: number): number {
  let atMost = 0;
  let atLeast = 0;
  for (let s = 0; s < counts.length; s++) {
    if (s <= observed) atMost += counts[s];
    if (s >= observed) atLeast += counts[s];
  }
  return Math.min(1, (2 * Math.min(atMost, atLeast)) / patterns);
}

/**
 * Wilcoxon signed-rank test of paired samples, equal to `scipy.stats.wilcoxon(a, b)` with the
 * defaults of SciPy 1.17 (zero_method='wilcox', correction=False, alternative='two-sided',
 * method='auto'); see {@link WilcoxonMethod} for the method rules. The statistic is
 * min(R+, R−).
 */
export function wilcoxonSignedRank(a: ArrayLike<number>, b: ArrayLike<number>): WilcoxonResult {
  const d = differences(a, b);
  const n = d.length;
  if (n === 0) return { statistic: null, p: null, method: 'none' };
  const zeros = d.reduce((count, x) => count + (x === 0 ? 1 : 0), 0);
  const ranked = signedRanks(d);
  const m = ranked.doubledRanks.length;
  const rPlus = ranked.doubledRPlus / 2;
  const rMinus = (m * (m + 1)) / 2 - rPlus;
  const statistic = Math.min(rPlus, rMinus);

  let method: WilcoxonMethod;
  if (n > EXACT_MAX_PAIRS) method = 'asymptotic';
  else if (!ranked.hasTies && zeros === 0) method = 'exact';
  else if (n <= PERMUTATION_MAX_PAIRS) method = 'permutation';
  else method = 'asymptotic';

  if (method === 'asymptotic') {
    // SciPy's arithmetic, step by step: mean and variance of R+ under H0, ties corrected.
    const mean = m * (m + 1) * 0.25;
    const variance = m * (m + 1) * (2 * m + 1);
    const se = Math.sqrt((variance - ranked.tieCorrection / 2) / 24);
    const z = (rPlus - mean) / se; // 0 / 0 when every difference is zero: nan, as in SciPy
    const p = 2 * normalCdf(-Math.abs(z), 0, 1);
    return { statistic, p: Number.isNaN(p) ? null : p, method };
  }
  // SciPy's permutation_test refuses fewer than two observations (one pair, a zero difference).
  if (method === 'permutation' && n < 2) return { statistic: null, p: null, method: 'none' };
  const counts = signedRankNullCounts(ranked.doubledRanks);
  // Zero differences flip onto themselves: they double every count and the number of
  // patterns alike, so the p-value is computed over the m non-zero ones.
  const p = enumeratedPValue(counts, ranked.doubledRPlus, 2 ** m);
  return { statistic, p, method };
}
