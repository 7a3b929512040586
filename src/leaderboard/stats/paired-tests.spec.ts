import { expectCloseToScipy, type FixtureNumber, loadStatsFixture } from '../../../test/fixtures/stats/scipy-fixtures';
import { differences, pairedTTest } from './paired-t-test';
import { mean, meanCi95 } from './descriptive-stats';
import { signedRankNullCounts, wilcoxonSignedRank } from './wilcoxon-signed-rank';

interface PairedCase {
  name: string;
  a: number[];
  b: number[];
  n: number;
  mean_diff: FixtureNumber;
  ci95: { low: FixtureNumber; high: FixtureNumber } | null;
  t_test: { statistic: FixtureNumber; pvalue: FixtureNumber };
  wilcoxon: { statistic: FixtureNumber; pvalue: FixtureNumber; error?: string };
}

const fixture = loadStatsFixture<PairedCase>('paired.json');

describe('paired tests against SciPy (ttest_rel, wilcoxon defaults)', () => {
  it(`follows the SciPy version the fixtures came from (${fixture.scipy})`, () => {
    expect(fixture.scipy).toBe('1.17.1');
    expect(fixture.cases.length).toBeGreaterThan(80);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const d = differences(c.a, c.b);
    expectCloseToScipy(mean(d), c.mean_diff, 'mean_diff');
    const ci = meanCi95(d);
    if (c.ci95 === null) expect(ci).toBeNull();
    else {
      expectCloseToScipy(ci!.low, c.ci95.low, 'ci95.low');
      expectCloseToScipy(ci!.high, c.ci95.high, 'ci95.high');
    }

    const t = pairedTTest(c.a, c.b);
    expectCloseToScipy(t.t, c.t_test.statistic, 't statistic');
    expectCloseToScipy(t.p, c.t_test.pvalue, 't-test p');

    const w = wilcoxonSignedRank(c.a, c.b);
    expectCloseToScipy(w.statistic, c.wilcoxon.statistic, 'wilcoxon statistic');
    expectCloseToScipy(w.p, c.wilcoxon.pvalue, 'wilcoxon p');
  });

  it('exercises every method of the auto rule', () => {
    const methods = new Set(fixture.cases.map((c) => wilcoxonSignedRank(c.a, c.b).method));
    expect([...methods].sort()).toEqual(['asymptotic', 'exact', 'none', 'permutation']);
  });
});

describe('paired tests, hand-checked', () => {
  it("Darwin's corn data: W = 24, exact p = 0.041259765625 (SciPy docs)", () => {
    const d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75];
    const w = wilcoxonSignedRank(d, new Array<number>(d.length).fill(0));
    expect(w).toEqual({ statistic: 24, p: 0.041259765625, method: 'exact' });
  });

  it('all five differences positive: p = 2 / 2^5 exactly', () => {
    const w = wilcoxonSignedRank([0.5, 0.6, 0.7, 0.8, 0.9], [0.41, 0.4, 0.35, 0.3, 0.2]);
    expect(w).toEqual({ statistic: 0, p: 0.0625, method: 'exact' });
  });

  it('null distribution of R+ for n = 3 (doubled ranks 2, 4, 6)', () => {
    // Sign patterns of {1, 2, 3}: sums 0, 1, 2, 3, 3, 4, 5, 6.
    const counts = signedRankNullCounts([2, 4, 6]);
    expect(counts.filter((_, s) => s % 2 === 0)).toEqual([1, 1, 1, 2, 1, 1, 1]);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(8);
  });

  it('ties on 13 pairs use the exhaustive permutation; on 14 the normal approximation', () => {
    const a13 = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0];
    const b13 = new Array<number>(13).fill(0);
    const small = wilcoxonSignedRank(a13, b13);
    expect(small.method).toBe('permutation');
    // 12 ties at rank 6.5 positive, 1 zero dropped: only the all-positive pattern is as extreme.
    expect(small.p).toBe(2 / 2 ** 12);
    expect(wilcoxonSignedRank([...a13, 1], [...b13, 0]).method).toBe('asymptotic');
  });

  it('reports null where SciPy has nothing to say', () => {
    expect(wilcoxonSignedRank([], [])).toEqual({ statistic: null, p: null, method: 'none' });
    expect(wilcoxonSignedRank([0.5], [0.5])).toEqual({ statistic: null, p: null, method: 'none' });
    expect(pairedTTest([0.5], [0.2])).toEqual({ t: null, p: null });
    expect(pairedTTest([0.3, 0.4], [0.3, 0.4])).toEqual({ t: null, p: null });
  });

  it('constant exact differences: t = ∞, p = 0 (as SciPy)', () => {
    expect(pairedTTest([1, 1, 1], [0, 0, 0])).toEqual({ t: Infinity, p: 0 });
    expect(pairedTTest([0, 0, 0], [1, 1, 1])).toEqual({ t: -Infinity, p: 0 });
  });

  it('rejects samples of different lengths', () => {
    expect(() => pairedTTest([1, 2], [1])).toThrow('differ in length');
  });
});
