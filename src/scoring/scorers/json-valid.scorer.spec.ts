import { jsonValidScorer } from './json-valid.scorer';
import { scoreContext } from './score-context.fixture';

const score = (output: string, params: object = {}) => jsonValidScorer.score(scoreContext(output), params);

describe('json_valid scorer', () => {
  it.each([['{"a": 1}'], ['[1, 2]'], ['  "text"\n'], ['42'], ['null'], ['{"emoji": "🎉", "k": "\\ud83c\\udf89"}']])(
    'accepts %s',
    async (output) => {
      await expect(score(output)).resolves.toEqual({ value: 1, metadata: { valid: true } });
    },
  );

  it.each([[''], ['   '], ['{"a": 1'], ["{'a': 1}"], ['{"a": 1} trailing'], ['NaN'], ['```json\n{"a": 1}\n```']])(
    'rejects %j',
    async (output) => {
      const res = await score(output);
      expect(res.value).toBe(0);
      expect(res.metadata).toMatchObject({ valid: false, error: expect.any(String) });
    },
  );

  it('says why an empty output is not JSON', async () => {
    await expect(score('')).resolves.toMatchObject({ metadata: { error: 'output is empty' } });
  });

  it('unwraps a Markdown code fence only with allow_code_fence', async () => {
    await expect(score('```json\n{"a": 1}\n```', { allow_code_fence: true })).resolves.toMatchObject({ value: 1 });
    await expect(score('\n```\n[1]\n```\n', { allow_code_fence: true })).resolves.toMatchObject({ value: 1 });
    await expect(score('Here: ```json\n{"a": 1}\n```', { allow_code_fence: true })).resolves.toMatchObject({
      value: 0,
    });
  });

  it('parses a huge JSON output', async () => {
    const big = JSON.stringify(Array.from({ length: 200_000 }, (_, i) => ({ i })));
    await expect(score(big)).resolves.toMatchObject({ value: 1 });
  });
});
