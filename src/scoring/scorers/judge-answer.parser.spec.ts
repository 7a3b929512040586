import { ScorerError } from '../scorer';
import { inferScale, parseJudgeAnswer } from './judge-answer.parser';

describe('parseJudgeAnswer', () => {
  it.each<[string, number, string]>([
    ['{"score": 0.8, "reason": "mostly right"}', 0.8, 'json'],
    ['```json\n{"score": 1, "reason": "ok"}\n```', 1, 'json'],
    ['Here is my verdict: {"score": "0.25", "reason": "weak"} Thanks.', 0.25, 'json'],
    ['Score: 7/10', 0.7, 'labelled'],
    ['**Score:** 3 out of 4 — good', 0.75, 'labelled'],
    ['The summary is fine.\nFinal score = 0.9', 0.9, 'labelled'],
    ['0.6', 0.6, 'bare'],
    ['1.', 1, 'bare'],
    ['4/5', 0.8, 'bare'],
  ])('%j → %p (%s)', (answer, value, form) => {
    const parsed = parseJudgeAnswer(answer, null);
    expect(parsed.value).toBeCloseTo(value, 12);
    expect(parsed.form).toBe(form);
  });

  it('keeps the JSON reason, or the answer itself for labelled scores', () => {
    expect(parseJudgeAnswer('{"score": 1, "reason": "complete"}', null).reason).toBe('complete');
    expect(parseJudgeAnswer('{"score": 1}', null).reason).toBeNull();
    expect(parseJudgeAnswer('Good coverage. Score: 8/10', null).reason).toBe('Good coverage. Score: 8/10');
  });

  it('maps a number without denominator through the scale', () => {
    expect(parseJudgeAnswer('7', { min: 0, max: 10 }).value).toBeCloseTo(0.7, 12);
    expect(parseJudgeAnswer('{"score": 1}', { min: 1, max: 5 }).value).toBe(0);
    expect(parseJudgeAnswer('{"score": 5}', { min: 1, max: 5 })).toMatchObject({
      value: 1,
      raw: 5,
      scale: { min: 1, max: 5 },
    });
    // An explicit denominator wins over the scale.
    expect(parseJudgeAnswer('Score: 2/4', { min: 1, max: 10 }).value).toBe(0.5);
  });

  it.each([
    ['7', null, /outside the scale 0–1/],
    ['Score: 11/10', null, /out of range/],
    ['-0.5', null, /outside the scale/],
    ['{"score": "high"}', null, /"score" is not a number/],
    ['I think it is pretty good.', null, /has no score/],
    ['', null, /has no score/],
    ['{"verdict": "good"}', null, /has no score/],
    ['11', { min: 0, max: 10 }, /outside the scale 0–10/],
  ])('rejects %j', (answer, scale, message) => {
    expect(() => parseJudgeAnswer(answer, scale)).toThrow(ScorerError);
    expect(() => parseJudgeAnswer(answer, scale)).toThrow(message);
  });

  it('copes with a long answer quickly', () => {
    const started = Date.now();
    expect(() => parseJudgeAnswer(`score ${' '.repeat(200_000)}x`, null)).toThrow(ScorerError);
    expect(parseJudgeAnswer(`${'blah '.repeat(100_000)} Score: 9/10`, null).value).toBeCloseTo(0.9, 12);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('inferScale', () => {
  it.each([
    ['Rate it on a scale of 1 to 10.', { min: 1, max: 10 }],
    ['Give a score from 0-5.', { min: 0, max: 5 }],
    ['Answer with a number between 1 and 7.', { min: 1, max: 7 }],
    ['Use a 1–4 point scale.', { min: 1, max: 4 }],
    ['Score it out of 100.', { min: 0, max: 100 }],
    ['Answer with a number in [0, 1].', null],
    ['Is it polite?', null],
    ['From 5 to 5', null],
  ])('%j → %p', (rubric, scale) => {
    expect(inferScale(rubric)).toEqual(scale);
  });
});
