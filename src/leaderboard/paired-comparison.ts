import { differences, mean, meanCi95, pairedTTest, wilcoxonSignedRank } from './stats';

/** The statistics of a paired comparison a vs b (API.md, `compare`): differences are a − b. */
export interface PairedComparison {
  n_pairs: number;
  mean_diff: number | null;
  ci95_low: number | null;
  ci95_high: number | null;
  t_test_p: number | null;
  wilcoxon_p: number | null;
  wins: number;
  losses: number;
  ties: number;
}

/**
 * One definition of "compare a with b" for `compare` (two configurations of one experiment) and
 * `compare-to` (a candidate against a baseline experiment): `va[i]` and `vb[i]` are the values of
 * the i-th pair.
 */
export function pairedComparison(va: readonly number[], vb: readonly number[]): PairedComparison {
  const d = differences(va, vb);
  const ci = meanCi95(d);
  let wins = 0;
  let losses = 0;
  for (const x of d) {
    if (x > 0) wins++;
    else if (x < 0) losses++;
  }
  return {
    n_pairs: d.length,
    mean_diff: mean(d),
    ci95_low: ci?.low ?? null,
    ci95_high: ci?.high ?? null,
    t_test_p: pairedTTest(va, vb).p,
    wilcoxon_p: wilcoxonSignedRank(va, vb).p,
    wins,
    losses,
    ties: d.length - wins - losses,
  };
}
