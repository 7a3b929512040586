import { weightedScore } from './weighted-score';

describe('weightedScore', () => {
  it('is the weighted mean over weighted scorers, the plain mean otherwise, null without scores', () => {
    expect(weightedScore({ a: 1, b: 0 }, { a: 1, b: 3 })).toBe(0.25);
    expect(weightedScore({ a: 1, b: 0, human: 0 }, { a: 1 })).toBe(1);
    expect(weightedScore({ a: 1, b: 0.5 }, null)).toBe(0.75);
    expect(weightedScore({ a: 1, b: 0.5 }, { c: 2 })).toBe(0.75);
    expect(weightedScore({ a: 1, b: 0.5 }, { a: 0, b: 0 })).toBe(0.75);
    expect(weightedScore({}, { a: 1 })).toBeNull();
  });
});
