import { lengthScorer } from './length.scorer';
import { scoreContext } from './score-context.fixture';

const score = (output: string, params: object) => lengthScorer.score(scoreContext(output), params);

describe('length scorer', () => {
  it('counts chars as code points by default', async () => {
    await expect(score('🎉🎉🎉', { max: 3 })).resolves.toEqual({
      value: 1,
      metadata: { length: 3, unit: 'chars', min: null, max: 3 },
    });
    await expect(score('abcd', { max: 3 })).resolves.toMatchObject({ value: 0, metadata: { length: 4 } });
    await expect(score('', { min: 1 })).resolves.toMatchObject({ value: 0, metadata: { length: 0 } });
    await expect(score('', { max: 0 })).resolves.toMatchObject({ value: 1 });
  });

  it('counts words as runs of non-whitespace, with inclusive bounds', async () => {
    await expect(score('  one two\n\tthree\u00a0four  ', { min: 4, max: 4, unit: 'words' })).resolves.toMatchObject({
      value: 1,
      metadata: { length: 4, unit: 'words' },
    });
    await expect(score('one two', { min: 3, unit: 'words' })).resolves.toMatchObject({ value: 0 });
    await expect(score('   \n ', { max: 0, unit: 'words' })).resolves.toMatchObject({
      value: 1,
      metadata: { length: 0 },
    });
    await expect(score('日本語 テキスト 🎉', { min: 3, max: 3, unit: 'words' })).resolves.toMatchObject({ value: 1 });
  });

  it('measures a huge output', async () => {
    await expect(score('word '.repeat(1_000_000), { max: 1_000_000, unit: 'words' })).resolves.toMatchObject({
      value: 1,
    });
  });

  it('needs a bound, and min ≤ max', () => {
    expect(lengthScorer.validate!({})).toEqual(['params: set "min", "max" or both']);
    expect(lengthScorer.validate!({ min: 5, max: 2 })).toEqual(['params.min (5) must not exceed params.max (2)']);
    expect(lengthScorer.validate!({ min: 2, max: 2 })).toEqual([]);
  });
});
