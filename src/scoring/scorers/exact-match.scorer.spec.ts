import { ScorerError } from '../scorer';
import { exactMatchScorer } from './exact-match.scorer';
import { scoreContext } from './score-context.fixture';

const score = (output: string, params: object, inputData: Record<string, unknown> | string = {}) =>
  exactMatchScorer.score(scoreContext(output, { inputData }), params);

describe('exact_match scorer', () => {
  it('compares with a literal expected value exactly by default', async () => {
    await expect(score('Paris', { expected: 'Paris' })).resolves.toMatchObject({
      value: 1,
      metadata: { matched: true },
    });
    await expect(score('Paris ', { expected: 'Paris' })).resolves.toMatchObject({ value: 0 });
    await expect(score('paris', { expected: 'Paris' })).resolves.toMatchObject({ value: 0 });
  });

  it('trims and folds case when asked, including ß = SS', async () => {
    await expect(score('  Paris\n', { expected: 'Paris', trim: true })).resolves.toMatchObject({ value: 1 });
    await expect(score('STRASSE', { expected: 'straße', case_insensitive: true })).resolves.toMatchObject({ value: 1 });
    await expect(score(' PARIS ', { expected: 'paris', case_insensitive: true })).resolves.toMatchObject({ value: 0 });
  });

  it('reads the expected value from an input field; non-strings compare as JSON text', async () => {
    await expect(score('42', { expected_field: 'answer' }, { answer: 42 })).resolves.toMatchObject({ value: 1 });
    await expect(score('true', { expected: true })).resolves.toMatchObject({ value: 1 });
    await expect(score('Rome', { expected_field: 'answer' }, { answer: 'Paris' })).resolves.toMatchObject({
      value: 0,
      metadata: { expected: 'Paris' },
    });
  });

  it('fails with a reason when the field is missing or the input is not an object', async () => {
    await expect(score('x', { expected_field: 'answer' }, { other: 1 })).rejects.toThrow(ScorerError);
    await expect(score('x', { expected_field: 'answer' }, { answer: null })).rejects.toThrow(/has no such field/);
    await expect(score('x', { expected_field: 'answer' }, 'plain text input')).rejects.toThrow(/not an object/);
  });

  it('handles empty and astral text', async () => {
    await expect(score('', { expected: '' })).resolves.toMatchObject({ value: 1 });
    await expect(score('', { expected: 'x' })).resolves.toMatchObject({ value: 0 });
    await expect(score('👍🏽 ok', { expected: '👍🏽 ok' })).resolves.toMatchObject({ value: 1 });
    await expect(score('👍 ok', { expected: '👍🏽 ok' })).resolves.toMatchObject({ value: 0 });
  });

  it('keeps only an excerpt of a long expected value in metadata', async () => {
    const long = '🙂'.repeat(1000);
    const res = await score(long, { expected: long });
    expect(res.value).toBe(1);
    expect(Array.from(res.metadata.expected as string)).toHaveLength(201);
  });

  it('requires exactly one of expected / expected_field', () => {
    expect(exactMatchScorer.validate!({})).toEqual(['params: set one of "expected" or "expected_field"']);
    expect(exactMatchScorer.validate!({ expected: 'a', expected_field: 'b' })).toHaveLength(1);
    expect(exactMatchScorer.validate!({ expected: '' })).toEqual([]);
  });
});
