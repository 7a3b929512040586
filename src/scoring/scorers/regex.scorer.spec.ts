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
    // index counts UTF-16 units, like String.prototype.indexOf.
    await expect(score('é😀x', { pattern: 'x' })).resolves.toMatchObject({ metadata: { match: 'x', index: 3 } });
  });

  it('is stateless with the g and y flags (a fresh RegExp each time)', async () => {
    for (let i = 0; i < 3; i++)
      await expect(score('abc abc', { pattern: 'abc', flags: 'g' })).resolves.toMatchObject({ value: 1 });
  });

  it('handles empty output and astral characters (code points, with or without the u flag)', async () => {
    await expect(score('', { pattern: '^$' })).resolves.toMatchObject({ value: 1 });
    await expect(score('', { pattern: 'a' })).resolves.toMatchObject({ value: 0 });
    await expect(score('🎉', { pattern: '^.$', flags: 'u' })).resolves.toMatchObject({ value: 1 });
    await expect(score('🎉', { pattern: '^.$' })).resolves.toMatchObject({ value: 1 });
    await expect(score('héllo wörld', { pattern: '^\\p{L}+ \\p{L}+$', flags: 'u' })).resolves.toMatchObject({
      value: 1,
    });
    await expect(score('caf\u00e9!', { pattern: 'caf\\u00e9', flags: 'y' })).resolves.toMatchObject({ value: 1 });
    await expect(score('a café', { pattern: 'caf', flags: 'y' })).resolves.toMatchObject({ value: 0 });
    await expect(score('A\nb', { pattern: '^b', flags: 'm' })).resolves.toMatchObject({ value: 1 });
    await expect(score('A\nb', { pattern: 'a.b', flags: 'is' })).resolves.toMatchObject({ value: 1 });
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
    // The emoji straddles the cut: it is dropped whole, so the scanned text ends with an "a".
    await expect(score(output, { pattern: 'a$' })).resolves.toMatchObject({
      value: 1,
      metadata: { truncated: true },
    });
  });

  it('rejects invalid patterns and flags at validation', () => {
    expect(regexProblem('(unclosed', undefined)).toMatch(/^params\.pattern is not a valid regular expression/);
    expect(regexProblem('a', 'gg')).toMatch(/not a valid regular expression/);
    expect(regexScorer.validate!({ pattern: '[a-z]+@[a-z]+\\.com', flags: 'i' })).toEqual([]);
  });

  it.each([['(?<=a)b'], ['(?=a)'], ['(?!a)b'], ['(a)\\1'], ['(?<n>a)\\k<n>']])(
    'refuses %s, which the linear-time engine cannot evaluate',
    (pattern) => {
      expect(regexScorer.validate!({ pattern })).toEqual([
        expect.stringMatching(/^params\.pattern is not a valid regular expression: .*(lookaround|backreferences)/),
      ]);
    },
  );
});

describe('regex scorer on patterns that backtrack catastrophically elsewhere', () => {
  // Each of these takes exponential time on a backtracking engine for the text below (the first
  // one with the "i" flag froze the API for 64 s): RE2 answers in linear time.
  it.each([
    ['(a|a)*$', 'i'],
    ['(a|a)*$', 'u'],
    ['(a|a)*$', 'v'],
    ['(a|a)*$', 'd'],
    ['(a+)+$', ''],
    ['(x+x+)+y', 'i'],
    ['(\\w+\\s?)*$', 'u'],
    ['^(a*)*b$', 'i'],
    ['(.*a){30}', ''],
  ])('%s with flags "%s" is accepted and evaluated in linear time', async (pattern, flags) => {
    expect(regexScorer.validate!({ pattern, flags })).toEqual([]);
    const started = Date.now();
    await score('a'.repeat(29) + '!', { pattern, flags });
    await score('x'.repeat(5000) + '!', { pattern, flags });
    await score('a'.repeat(REGEX_MAX_SCANNED_LENGTH) + '!', { pattern, flags });
    // Minutes (or forever) on a backtracking engine; well under a second here even on a loaded machine.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses patterns whose compiled program is too large, and skips locating a costly match', async () => {
    expect(regexScorer.validate!({ pattern: 'a{1000}b{1000}' })).toEqual([
      expect.stringMatching(/^params\.pattern is too complex: its compiled size is \d+, at most 1000/),
    ]);
    const huge = 'a'.repeat(REGEX_MAX_SCANNED_LENGTH);
    await expect(score(huge, { pattern: '(.*a){30}' })).resolves.toEqual({
      value: 1,
      metadata: { matched: true, match: null, index: null, truncated: false },
    });
    await expect(score('xaay', { pattern: '(.*a){2}' })).resolves.toMatchObject({
      metadata: { match: 'xaa', index: 0 },
    });
  });
});
