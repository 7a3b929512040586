import { ScorerError } from '../scorer';
import { scoreContext } from './score-context.fixture';
import { codePointLevenshtein, similarity, SIMILARITY_MAX_CELLS, similarityScorer } from './similarity.scorer';

/** Independent reference: the textbook full-matrix Levenshtein over code points. */
function referenceDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  const d: number[][] = [];
  for (let i = 0; i <= x.length; i++) {
    d.push([]);
    for (let j = 0; j <= y.length; j++) {
      if (i === 0) d[i][j] = j;
      else if (j === 0) d[i][j] = i;
      else d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
  }
  return d[x.length][y.length];
}

const referenceSimilarity = (a: string, b: string): number => {
  const max = Math.max([...a].length, [...b].length);
  return max === 0 ? 1 : 1 - referenceDistance(a, b) / max;
};

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PAIRS: [string, string][] = [
  ['', ''],
  ['', 'abc'],
  ['abc', ''],
  ['kitten', 'sitting'],
  ['flaw', 'lawn'],
  ['same', 'same'],
  ['Saturday', 'Sunday'],
  ['😀', '😃'],
  ['a😀b', 'ab'],
  ['👍🏽', '👍'],
  ['𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'Unicode'],
  ['naïve café', 'naive cafe'],
  ['日本語のテキスト', '日本語テキスト'],
  ['x'.repeat(40) + '😀', 'x'.repeat(41)],
  ['The quick brown fox jumps over the lazy dog', 'The quick brown dog jumps over the lazy fox'],
];

describe('similarity over code points', () => {
  it.each(PAIRS)('matches the reference for %j vs %j', (a, b) => {
    expect(codePointLevenshtein(a, b)).toBe(referenceDistance(a, b));
    expect(similarity(a, b).value).toBeCloseTo(referenceSimilarity(a, b), 12);
  });

  it('counts an astral character once, not as two UTF-16 units', () => {
    expect(similarity('😀', '😃')).toEqual({ value: 0, distance: 1, maxLength: 1 });
    expect(similarity('a😀', 'a')).toEqual({ value: 0.5, distance: 1, maxLength: 2 });
  });

  it('matches the reference on random strings mixing BMP and astral characters', () => {
    const rand = prng(42);
    const alphabet = ['a', 'b', 'c', 'é', '日', '😀', '😃', '𝔘', ' '];
    const word = (n: number) =>
      Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    for (let i = 0; i < 300; i++) {
      const a = word(Math.floor(rand() * 80));
      const b = word(Math.floor(rand() * 80));
      expect(codePointLevenshtein(a, b)).toBe(referenceDistance(a, b));
    }
  });

  it('falls back correctly when there are more distinct code points than UTF-16 units', () => {
    // 70,000 distinct astral code points in total: renaming to 16-bit units is impossible.
    const a = Array.from({ length: 35_000 }, (_, i) => String.fromCodePoint(0x10000 + i)).join('');
    const b = Array.from({ length: 35_000 }, (_, i) => String.fromCodePoint(0x20000 + i)).join('');
    expect(codePointLevenshtein(a + b, 'x')).toBe(70_000);
    const head = (n: number) => Array.from(b).slice(0, n).join('');
    expect(codePointLevenshtein(a + b, head(10))).toBe(69_990);
    expect(codePointLevenshtein(head(10) + a + b, head(5) + 'x')).toBe(70_005);
  });
});

describe('similarity scorer', () => {
  const score = (output: string, params: object, inputData: Record<string, unknown> = {}) =>
    similarityScorer.score(scoreContext(output, { inputData }), params);

  it('scores 1 − d / max(len) against a literal or an input field', async () => {
    await expect(score('kitten', { expected: 'sitting' })).resolves.toMatchObject({
      value: 1 - 3 / 7,
      metadata: { distance: 3, max_length: 7, expected: 'sitting' },
    });
    await expect(score('Paris', { expected_field: 'expected' }, { expected: 'Paris' })).resolves.toMatchObject({
      value: 1,
    });
  });

  it('scores both-empty as 1 and one-empty as 0', async () => {
    await expect(score('', { expected: '' })).resolves.toMatchObject({ value: 1 });
    await expect(score('', { expected: 'abc' })).resolves.toMatchObject({ value: 0 });
    await expect(score('abc', { expected: '' })).resolves.toMatchObject({ value: 0 });
  });

  it('normalises with trim and case_insensitive', async () => {
    await expect(score('  PARIS \n', { expected: 'paris', trim: true, case_insensitive: true })).resolves.toMatchObject(
      { value: 1 },
    );
    await expect(score('PARIS', { expected: 'paris' })).resolves.toMatchObject({ value: 0 });
  });

  it('handles long texts within the budget and refuses beyond it with a reason', async () => {
    const long = 'lorem ipsum '.repeat(1000);
    await expect(score(long, { expected: long.replace(/o/g, '0') })).resolves.toMatchObject({
      value: expect.any(Number),
    });
    const side = Math.ceil(Math.sqrt(SIMILARITY_MAX_CELLS)) + 1;
    await expect(score('a'.repeat(side), { expected: 'b'.repeat(side) })).rejects.toThrow(ScorerError);
    // A huge output against a short expected value is cheap (the product is what counts).
    const res = await score('a'.repeat(1_000_000), { expected: 'a' });
    expect(res.value).toBeCloseTo(1e-6, 12);
  });
});
