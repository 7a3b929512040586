import { compileUserSchema, jsonSchemaScorer } from './json-schema.scorer';
import { scoreContext } from './score-context.fixture';

const ticketSchema = {
  type: 'object',
  required: ['summary', 'priority'],
  properties: {
    summary: { type: 'string', minLength: 1 },
    priority: { enum: ['low', 'high'] },
    email: { type: 'string', format: 'email' },
  },
  additionalProperties: false,
};
const score = (output: string, params: object = { schema: ticketSchema }) =>
  jsonSchemaScorer.score(scoreContext(output), params as never);

describe('json_schema scorer', () => {
  it('gives 1 to conforming JSON', async () => {
    await expect(score('{"summary": "Refund 🎉", "priority": "high"}')).resolves.toEqual({
      value: 1,
      metadata: { valid_json: true, conforms: true },
    });
  });

  it('gives 0 with readable errors to non-conforming JSON', async () => {
    const res = await score('{"summary": "", "priority": "urgent", "extra": 1, "email": "nope"}');
    expect(res.value).toBe(0);
    expect(res.metadata).toMatchObject({ valid_json: true, conforms: false });
    expect(res.metadata.errors).toEqual(
      expect.arrayContaining([
        'output has unknown property "extra"',
        'output.summary must NOT have fewer than 1 characters',
        'output.priority must be one of "low", "high"',
        'output.email must match format "email"',
      ]),
    );
  });

  it('gives 0 to output that is not JSON, including empty output', async () => {
    await expect(score('not json')).resolves.toMatchObject({ value: 0, metadata: { valid_json: false } });
    await expect(score('')).resolves.toMatchObject({
      value: 0,
      metadata: { valid_json: false, error: 'output is empty' },
    });
  });

  it('accepts a code fence when allowed', async () => {
    const fenced = '```json\n{"summary": "s", "priority": "low"}\n```';
    await expect(score(fenced, { schema: ticketSchema, allow_code_fence: true })).resolves.toMatchObject({ value: 1 });
    await expect(score(fenced, { schema: ticketSchema })).resolves.toMatchObject({ value: 0 });
  });

  it('rejects an invalid or async schema at validation', () => {
    expect(jsonSchemaScorer.validate!({ schema: { type: 'objekt' } })).toEqual([
      expect.stringMatching(/^params\.schema is not a valid JSON Schema/),
    ]);
    expect(jsonSchemaScorer.validate!({ schema: { $ref: 'https://example.com/remote.json' } })).toEqual([
      expect.stringMatching(/not a valid JSON Schema/),
    ]);
    expect(jsonSchemaScorer.validate!({ schema: { $async: true, type: 'object' } })).toEqual([
      'params.schema: "$async" schemas are not supported',
    ]);
    expect(jsonSchemaScorer.validate!({ schema: ticketSchema })).toEqual([]);
  });

  it('tolerates unknown keywords and follows $schema to pick the draft', async () => {
    expect(jsonSchemaScorer.validate!({ schema: { type: 'string', example: 'x', 'x-note': 1 } })).toEqual([]);
    const tuple2020 = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'array',
      prefixItems: [{ type: 'number' }],
      items: false,
    };
    expect(jsonSchemaScorer.validate!({ schema: tuple2020 })).toEqual([]);
    await expect(score('[1]', { schema: tuple2020 })).resolves.toMatchObject({ value: 1 });
    await expect(score('[1, 2]', { schema: tuple2020 })).resolves.toMatchObject({ value: 0 });
  });

  it('keeps schemas with the same $id apart and reuses compiled ones', () => {
    const a = compileUserSchema({ $id: 'https://example.com/same.json', type: 'string' });
    const b = compileUserSchema({ $id: 'https://example.com/same.json', type: 'number' });
    expect(a('x')).toBe(true);
    expect(b('x')).toBe(false);
    expect(compileUserSchema({ type: 'string', $id: 'https://example.com/same.json' })).toBe(a);
  });
});

describe('json_schema scorer under hostile schemas', () => {
  it.each([['^(a|a)*$'], ['^(a+)+$'], ['(x+x+)+y'], ['^(\\w+\\s?)*$']])(
    'evaluates pattern %s in linear time (it would backtrack for minutes on V8)',
    async (pattern) => {
      const params = {
        schema: {
          type: 'object',
          properties: { s: { type: 'string', pattern } },
          patternProperties: { [pattern]: {} },
        },
      };
      expect(jsonSchemaScorer.validate!(params as never)).toEqual([]);
      const started = Date.now();
      const res = await score(JSON.stringify({ s: 'a'.repeat(40) + '!', ['x'.repeat(40)]: 1 }), params);
      expect(res.value).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
    },
  );

  it('tells patterns apart (ajv keys compiled patterns by their text)', async () => {
    const params = {
      schema: {
        type: 'object',
        properties: { a: { type: 'string', pattern: '^a+$' }, b: { type: 'string', pattern: '^b+$' } },
      },
    };
    await expect(score('{"a": "aaa", "b": "bbb"}', params)).resolves.toMatchObject({ value: 1 });
    await expect(score('{"a": "aaa", "b": "aaa"}', params)).resolves.toMatchObject({ value: 0 });
  });

  it('refuses patterns the linear-time engine cannot evaluate', () => {
    const problems = jsonSchemaScorer.validate!({
      schema: { type: 'string', pattern: '^(?=.*\\d)\\w+$' },
    });
    expect(problems).toEqual([expect.stringMatching(/^params\.schema is not a valid JSON Schema: .*lookaround/)]);
  });

  it('stops a validation that takes too long and reports it as a scorer error', async () => {
    // uniqueItems over objects is quadratic in ajv: 30,000 items are billions of comparisons.
    const params = { schema: { type: 'array', uniqueItems: true } };
    const output = JSON.stringify(Array.from({ length: 30_000 }, (_, i) => ({ i })));
    const started = Date.now();
    await expect(score(output, params)).rejects.toThrow(/took longer than 500 ms and was stopped/);
    expect(Date.now() - started).toBeLessThan(5000);
    // The schema still works afterwards (recompiled, not the interrupted instance).
    await expect(score('[1, 2]', params)).resolves.toMatchObject({ value: 1 });
  });
});
