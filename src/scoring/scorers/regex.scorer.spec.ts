import { regexProblem, REGEX_MAX_SCANNED_LENGTH, regexScorer } from './regex.scorer';
import { scoreContext } from './score-context.fixture';

const score = (output: string, params: { pattern: string; flags?: string }) =>
  regexScorer.score(scoreContext(output), params);

describe('regex scorer', () => {
  it('matches anywhere unless anchored, honouring flags', async () => {
    await expect(score('Ticket TICKET-12345 opened', { pattern: '\\bTICKET-\\d{4,}\\b' })).resolves.toMatchObject({
      value: 1,
      metadata: { matched: true, match: 'TICKET-12345', index: 7, truncated: false },
    });
    await expect(score('ticket-12345', { pattern: 'TICKET-\\d+' })).resolves.toMatchObject({
      value: 0,
      metadata: { match: null },
    });
    await expect(score('ticket-12345', { pattern: 'TICKET-\\d+', flags: 'i' })).resolves.toMatchObject({ value: 1 });
    await expect(score('yes, indeed', { pattern: '^yes$' })).resolves.toMatchObject({ value: 0 });
  });

  it('is stateless with the g and y flags (a fresh RegExp each time)', async () => {
    for (let i = 0; i < 3; i++)
      await expect(score('abc abc', { pattern: 'abc', flags: 'g' })).resolves.toMatchObject({ value: 1 });
  });

  it('handles empty output and astral characters with the u flag', async () => {
    await expect(score('', { pattern: '^$' })).resolves.toMatchObject({ value: 1 });
    await expect(score('', { pattern: 'a' })).resolves.toMatchObject({ value: 0 });
    await expect(score('🎉', { pattern: '^.$', flags: 'u' })).resolves.toMatchObject({ value: 1 });
    await expect(score('🎉', { pattern: '^.$' })).resolves.toMatchObject({ value: 0 });
    await expect(score('héllo wörld', { pattern: '^\\p{L}+ \\p{L}+$', flags: 'u' })).resolves.toMatchObject({
      value: 1,
    });
  });

  it('scans only the first REGEX_MAX_SCANNED_LENGTH units of a huge output, fast', async () => {
    const huge = 'a'.repeat(REGEX_MAX_SCANNED_LENGTH) + 'END';
    const started = Date.now();
    await expect(score(huge, { pattern: 'END' })).resolves.toMatchObject({ value: 0, metadata: { truncated: true } });
    await expect(score(huge, { pattern: '^a+$' })).resolves.toMatchObject({ value: 1 });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('never splits a surrogate pair at the cut', async () => {
    const output = 'a'.repeat(REGEX_MAX_SCANNED_LENGTH - 1) + '😀' + 'tail';
    // The emoji straddles the cut: it is dropped whole, so no lone surrogate remains.
    await expect(score(output, { pattern: '[\\uD800-\\uDBFF]$' })).resolves.toMatchObject({
      value: 0,
      metadata: { truncated: true },
    });
  });

  it('rejects invalid patterns and flags at validation', () => {
    expect(regexProblem('(unclosed', undefined)).toMatch(/^params\.pattern is not a valid regular expression/);
    expect(regexProblem('a', 'gg')).toMatch(/not a valid regular expression/);
    expect(regexScorer.validate!({ pattern: '[a-z]+@[a-z]+\\.com', flags: 'i' })).toEqual([]);
  });

  it.each([['(a+)+$'], ['(x+x+)+y'], ['(\\w+\\s?)*$'], ['^(a*)*b$'], ['(.*a){30}'], ['(?<=a)b']])(
    'refuses %s as possibly catastrophic',
    (pattern) => {
      expect(regexScorer.validate!({ pattern })).toEqual([
        expect.stringMatching(/^params\.pattern is refused: it may backtrack catastrophically/),
      ]);
    },
  );
});

describe('regex scorer backtracking guard', () => {
  it('evaluates a pattern that safe-regex2 misses in linear time instead of hanging', () => {
    // `(a|a)*$` is exponential on a backtracking engine (2^40 steps here: this test would not end);
    // importing the scorer switched V8 to fall back to its linear-time engine.
    const matched = new RegExp('(a|a)*$').test('a'.repeat(40) + 'b');
    expect(matched).toBe(true);
  });
});
