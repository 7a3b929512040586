import { containsScorer } from './contains.scorer';
import { notContainsScorer } from './not-contains.scorer';
import { scoreContext } from './score-context.fixture';

const contains = (output: string, params: object) => containsScorer.score(scoreContext(output), params);
const notContains = (output: string, params: object) => notContainsScorer.score(scoreContext(output), params);

describe('contains scorer', () => {
  it('finds one value, case-sensitively by default', async () => {
    await expect(contains('We will refund you.', { value: 'refund' })).resolves.toMatchObject({
      value: 1,
      metadata: { found: ['refund'] },
    });
    await expect(contains('Refund issued', { value: 'refund' })).resolves.toMatchObject({
      value: 0,
      metadata: { missing: ['refund'] },
    });
    await expect(contains('REFUND issued', { value: 'refund', case_sensitive: false })).resolves.toMatchObject({
      value: 1,
    });
  });

  it('quantifies over values with mode any (default) or all', async () => {
    const values = ['refund', 'apology'];
    await expect(contains('refund only', { values })).resolves.toMatchObject({ value: 1, metadata: { mode: 'any' } });
    await expect(contains('refund only', { values, mode: 'all' })).resolves.toMatchObject({
      value: 0,
      metadata: { found: ['refund'], missing: ['apology'] },
    });
    await expect(contains('an apology and a refund', { values, mode: 'all' })).resolves.toMatchObject({ value: 1 });
    await expect(contains('nothing', { values })).resolves.toMatchObject({ value: 0 });
  });

  it('handles empty output and astral characters', async () => {
    await expect(contains('', { value: 'a' })).resolves.toMatchObject({ value: 0 });
    await expect(contains('Great job 🎉!', { value: '🎉' })).resolves.toMatchObject({ value: 1 });
    await expect(contains('Straße', { value: 'STRASSE', case_sensitive: false })).resolves.toMatchObject({ value: 1 });
  });

  it('scans a huge output', async () => {
    const output = `${'x'.repeat(5_000_000)}needle`;
    await expect(contains(output, { value: 'needle' })).resolves.toMatchObject({ value: 1 });
  });

  it('requires exactly one of value / values', () => {
    expect(containsScorer.validate!({})).toHaveLength(1);
    expect(containsScorer.validate!({ value: 'a', values: ['b'] })).toHaveLength(1);
    expect(containsScorer.validate!({ values: ['b'] })).toEqual([]);
  });
});

describe('not_contains scorer', () => {
  const values = ['sorry', 'apologize'];

  it('by default (mode all) passes only when no value occurs', async () => {
    await expect(notContains('Here is your answer.', { values })).resolves.toMatchObject({
      value: 1,
      metadata: { mode: 'all' },
    });
    await expect(notContains('Sorry, here it is.', { values, case_sensitive: false })).resolves.toMatchObject({
      value: 0,
      metadata: { found: ['sorry'] },
    });
    await expect(notContains('Sorry, here it is.', { values })).resolves.toMatchObject({ value: 1 });
  });

  it('with mode any passes when at least one value is absent', async () => {
    await expect(notContains('sorry, I apologize', { values, mode: 'any' })).resolves.toMatchObject({ value: 0 });
    await expect(notContains('sorry', { values, mode: 'any' })).resolves.toMatchObject({ value: 1 });
  });

  it('treats a single value and an empty output sensibly', async () => {
    await expect(notContains('', { value: 'x' })).resolves.toMatchObject({ value: 1 });
    await expect(notContains('xyz', { value: 'y' })).resolves.toMatchObject({ value: 0 });
  });
});
