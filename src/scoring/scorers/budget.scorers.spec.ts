import { ScorerError } from '../scorer';
import { costScorer } from './cost.scorer';
import { latencyScorer } from './latency.scorer';
import { scoreContext } from './score-context.fixture';

describe('latency scorer', () => {
  const score = (durationMs: number | null, maxMs: number) =>
    latencyScorer.score(scoreContext('out', { run: { durationMs } }), { max_ms: maxMs });

  it('passes at or under the budget and fails over it', async () => {
    await expect(score(1000, 1000)).resolves.toEqual({ value: 1, metadata: { duration_ms: 1000, max_ms: 1000 } });
    await expect(score(0, 1)).resolves.toMatchObject({ value: 1 });
    await expect(score(1001, 1000)).resolves.toMatchObject({ value: 0 });
  });

  it('is a scorer error without a duration', async () => {
    await expect(score(null, 1000)).rejects.toThrow(ScorerError);
  });
});

describe('cost scorer', () => {
  const score = (costEstimate: number | null, maxUsd: number) =>
    costScorer.score(scoreContext('out', { run: { costEstimate } }), { max_usd: maxUsd });

  it('passes at or under the budget and fails over it', async () => {
    await expect(score(0.002, 0.002)).resolves.toEqual({ value: 1, metadata: { cost_usd: 0.002, max_usd: 0.002 } });
    await expect(score(0, 0)).resolves.toMatchObject({ value: 1 });
    await expect(score(0.0021, 0.002)).resolves.toMatchObject({ value: 0 });
  });

  it('treats an unknown cost as a scorer error, not a pass', async () => {
    await expect(score(null, 1)).rejects.toThrow('the run has no known cost (model without a price)');
  });
});
