import { ScorerError } from '../scorer';
import { firstNumber, numericCloseScorer } from './numeric-close.scorer';
import { scoreContext } from './score-context.fixture';

describe('firstNumber', () => {
  it.each<[string, number | null]>([
    ['42', 42],
    ['The answer is 42.', 42],
    ['about 3.5k users', 3500],
    ['about 3.5kg of flour', 3.5],
    ['-2e3', -2000],
    ['result: -2E-3', -0.002],
    ['costs 1,234.5 dollars', 1234.5],
    ['1,234,567 rows', 1234567],
    ['1,2345', 1],
    ['1,5 (European decimal comma is not read)', 1],
    ['\u22127 degrees', -7],
    ['x = .5', 0.5],
    ['pages 3-5', 3],
    ['gpt4 said 7', 7],
    ['H2O boils at 100 °C', 100],
    ['v1.2 scored 9', 9],
    ['5M downloads', 5_000_000],
    ['2B parameters', 2_000_000_000],
    ['45% of cases', 45],
    ['+3 points', 3],
    ['no digits here', null],
    ['', null],
  ])('%j → %p', (text, expected) => {
    const found = firstNumber(text);
    if (expected === null) expect(found).toBeNull();
    else expect(found?.value).toBeCloseTo(expected, 10);
  });

  it('scans a huge output without a number in linear time', () => {
    const started = Date.now();
    expect(firstNumber('word '.repeat(1_000_000))).toBeNull();
    expect(firstNumber(`${'x1'.repeat(500_000)} 7`)?.value).toBe(7);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('numeric_close scorer', () => {
  const score = (output: string, params: object, inputData: Record<string, unknown> = {}) =>
    numericCloseScorer.score(scoreContext(output, { inputData }), params);

  it('compares with the default tolerance (rel 1e-9, abs 0)', async () => {
    await expect(score('It is 42.', { expected: 42 })).resolves.toMatchObject({
      value: 1,
      metadata: { parsed: 42, diff: 0 },
    });
    await expect(score('It is 42.0000001', { expected: 42 })).resolves.toMatchObject({ value: 0 });
  });

  it('honours abs_tol and rel_tol, whichever is larger', async () => {
    await expect(score('3.14', { expected: 3.14159, abs_tol: 0.01 })).resolves.toMatchObject({ value: 1 });
    await expect(score('3.1', { expected: 3.14159, abs_tol: 0.01 })).resolves.toMatchObject({ value: 0 });
    await expect(score('about 3.5k', { expected: 3600, rel_tol: 0.05 })).resolves.toMatchObject({
      value: 1,
      metadata: { parsed: 3500 },
    });
    await expect(score('-2e3', { expected: -2100, rel_tol: 0.01 })).resolves.toMatchObject({ value: 0 });
  });

  it('reads the expected value from an input field (number or numeric string)', async () => {
    await expect(score('7', { expected_field: 'answer' }, { answer: '7' })).resolves.toMatchObject({ value: 1 });
    await expect(score('7', { expected_field: 'answer' }, { answer: 7 })).resolves.toMatchObject({ value: 1 });
    await expect(score('7', { expected_field: 'answer' }, { answer: 'seven' })).rejects.toThrow(ScorerError);
    await expect(score('7', { expected_field: 'answer' }, { answer: '' })).rejects.toThrow(/not a number/);
  });

  it('scores 0 with a reason when the output holds no usable number', async () => {
    await expect(score('I cannot say.', { expected: 1 })).resolves.toEqual({
      value: 0,
      metadata: { reason: 'no number found in the output', expected: 1 },
    });
    await expect(score('', { expected: 1 })).resolves.toMatchObject({ value: 0 });
    await expect(score('1e999', { expected: 1 })).resolves.toMatchObject({
      value: 0,
      metadata: { reason: expect.stringMatching(/out of range/) },
    });
  });
});
