import { expectCloseToScipy, type FixtureNumber, loadStatsFixture } from '../../../test/fixtures/stats/scipy-fixtures';
import { mean, meanCi95, pairwiseSum, sampleStdDev, tQuantile } from './descriptive-stats';

interface DescriptiveCase {
  name: string;
  values: number[];
  n: number;
  mean: FixtureNumber;
  stddev: FixtureNumber;
  t975: FixtureNumber;
  ci95: { low: FixtureNumber; high: FixtureNumber } | null;
}

interface TQuantileCase {
  p: number;
  df: number;
  q: FixtureNumber;
}

const descriptive = loadStatsFixture<DescriptiveCase>('descriptive.json');
const quantiles = loadStatsFixture<TQuantileCase>('t-quantile.json');

describe('descriptive statistics against SciPy/NumPy', () => {
  it('covers enough cases to mean something', () => {
    expect(descriptive.cases.length).toBeGreaterThan(60);
    expect(quantiles.cases.length).toBeGreaterThan(100);
  });

  it.each(descriptive.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expectCloseToScipy(mean(c.values), c.mean, 'mean');
    expectCloseToScipy(sampleStdDev(c.values), c.stddev, 'stddev');
    const ci = meanCi95(c.values);
    if (c.ci95 === null) {
      expect(ci).toBeNull();
    } else {
      expect(ci).not.toBeNull();
      expectCloseToScipy(ci!.low, c.ci95.low, 'ci95.low');
      expectCloseToScipy(ci!.high, c.ci95.high, 'ci95.high');
      expectCloseToScipy(tQuantile(0.975, c.n - 1), c.t975, 't(0.975, n-1)');
    }
  });

  it('t quantiles equal scipy.stats.t.ppf', () => {
    for (const c of quantiles.cases) expectCloseToScipy(tQuantile(c.p, c.df), c.q, `t.ppf(${c.p}, ${c.df})`);
  });
});

describe('descriptive statistics, hand-checked', () => {
  it('mean and sample standard deviation of a textbook sample', () => {
    const values = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(values)).toBe(5);
    // Σ(x − 5)² = 32 over n − 1 = 7.
    expect(sampleStdDev(values)).toBeCloseTo(Math.sqrt(32 / 7), 15);
  });

  it('t(0.975, 1) is the classic 12.706', () => {
    expect(tQuantile(0.975, 1)).toBeCloseTo(12.706204736174707, 12);
    expect(tQuantile(0.975, 1e9)).toBeCloseTo(1.959963984540054, 8);
  });

  it('CI of two values is mean ± t(0.975, 1) · sd / √2', () => {
    const ci = meanCi95([0, 1]);
    const half = (12.706204736174707 * Math.SQRT1_2) / Math.SQRT2;
    expect(ci!.low).toBeCloseTo(0.5 - half, 12);
    expect(ci!.high).toBeCloseTo(0.5 + half, 12);
  });

  it('n = 1 has a mean but no spread and no interval; n = 0 has nothing', () => {
    expect(mean([0.3])).toBe(0.3);
    expect(sampleStdDev([0.3])).toBeNull();
    expect(meanCi95([0.3])).toBeNull();
    expect(mean([])).toBeNull();
    expect(meanCi95([])).toBeNull();
  });

  it('equal values give a zero-width interval', () => {
    // 0.75 is exact in binary, so the mean is too (with 0.7 both NumPy and we get 2e-16).
    expect(sampleStdDev([0.75, 0.75, 0.75])).toBe(0);
    expect(meanCi95([0.75, 0.75, 0.75])).toEqual({ low: 0.75, high: 0.75 });
  });

  it('sums in NumPy order, which differs from a left-to-right sum', () => {
    // Left to right every 1 is lost against 1e16 (its ulp is 2); NumPy's eight accumulators
    // add the ones among themselves first: np.sum gives 1e16 + 14.
    const values = [1e16, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    const leftToRight = values.reduce((s, x) => s + x, 0);
    expect(leftToRight).toBe(1e16);
    expect(pairwiseSum(values)).toBe(1e16 + 14);
  });
});
