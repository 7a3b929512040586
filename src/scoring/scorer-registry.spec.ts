import { jsonPointerToPath } from './ajv-errors';
import { type ScoreContext, ScorerError } from './scorer';
import { MAX_SCORERS, ScorerRegistry } from './scorer-registry';
import { builtInScorers } from './scorers/built-in-scorers';
import { scoreContext } from './scorers/score-context.fixture';

const registry = new ScorerRegistry(
  builtInScorers({
    llm: {
      complete: () =>
        Promise.resolve({
          output: '{"score": 1}',
          tokensIn: 1,
          tokensOut: 1,
          toolCalls: null,
          finishReason: 'stop',
          cost: 0,
          durationMs: 1,
          callMs: 1,
          attempts: 1,
        }),
    },
    cache: { get: () => Promise.resolve(null), put: () => Promise.resolve() },
  }),
);
/** What the experiments module passes: the project's model resolution. */
const checks = {
  model: (m: string) => (m.startsWith('mock:') || m.startsWith('openai:') ? null : `Unknown provider in "${m}"`),
};

const ALL_TYPES = [
  'exact_match',
  'contains',
  'not_contains',
  'regex',
  'json_valid',
  'json_schema',
  'similarity',
  'numeric_close',
  'length',
  'latency',
  'cost',
  'tool_call',
  'llm_judge',
];

describe('ScorerRegistry', () => {
  it('lists every built-in type with a description, a params schema and a valid example', () => {
    const items = registry.list();
    expect(items.map((i) => i.type)).toEqual(ALL_TYPES);
    for (const item of items) {
      expect(item.description.length).toBeGreaterThan(20);
      expect(item.params_schema).toMatchObject({ type: 'object', additionalProperties: false });
      expect(item.example.type).toBe(item.type);
      expect(registry.validateScoringConfig({ scorers: [item.example] }, checks)).toEqual([]);
    }
  });

  it('accepts the contract example and an absent scoring config', () => {
    expect(
      registry.validateScoringConfig({
        scorers: [
          { name: 'has_refund', type: 'contains', params: { value: 'refund', case_sensitive: false } },
          { name: 'matches', type: 'similarity', params: { expected_field: 'expected' } },
        ],
        weights: { has_refund: 1, matches: 3 },
      }),
    ).toEqual([]);
    expect(registry.validateScoringConfig(null)).toEqual([]);
    expect(registry.validateScoringConfig(undefined)).toEqual([]);
    expect(registry.validateScoringConfig({})).toEqual([]);
    expect(registry.validateScoringConfig({ scorers: [{ name: 'j', type: 'json_valid' }] })).toEqual([]);
  });

  it('reports every problem, each naming the scorer', () => {
    const problems = registry.validateScoringConfig(
      {
        scorers: [
          { name: 'ok', type: 'contains', params: { value: 'x' } },
          { name: 'matches', type: 'similiarity', params: {} },
          { name: 'ok', type: 'regex', params: { pattern: '(?<=a)b' } },
          { name: '  ', type: 'json_valid' },
          { name: 'n', type: 'numeric_close', params: { expected: '3', abs_tol: -1, extra: true } },
          { name: 'j', type: 'json_schema', params: { schema: { type: 'objekt' } } },
          { name: 'r', type: 'regex', params: { pattern: '(' } },
          { name: 'judge', type: 'llm_judge', params: { model: 'nope:x', rubric: 'no placeholder' } },
          { name: 'p', type: 'contains', params: 'refund' },
          { name: 'q', type: 42 },
          'not an object',
          { name: 'z', type: 'length', params: { unit: 'lines' }, weight: 2 },
        ],
        weights: { ok: 1, ghost: 2, n: -1, j: Infinity, r: '2' },
        extra: 1,
      },
      checks,
    );
    expect(problems).toEqual([
      'scoring_config has unknown property "extra"',
      'scoring_config.scorers[1] (name "matches"): unknown type "similiarity" (did you mean "similarity"?)',
      'scoring_config.scorers[2] (name "ok"): name is already used by scoring_config.scorers[0]',
      expect.stringMatching(
        /^scoring_config\.scorers\[2\] \(name "ok"\): params\.pattern is not a valid regular expression: .*lookaround/,
      ),
      'scoring_config.scorers[3]: name must be a non-empty string',
      'scoring_config.scorers[4] (name "n"): params has unknown property "extra"',
      'scoring_config.scorers[4] (name "n"): params.expected must be of type number',
      'scoring_config.scorers[4] (name "n"): params.abs_tol must be >= 0',
      expect.stringMatching(/^scoring_config\.scorers\[5\] \(name "j"\): params\.schema is not a valid JSON Schema: /),
      expect.stringMatching(
        /^scoring_config\.scorers\[6\] \(name "r"\): params\.pattern is not a valid regular expression: /,
      ),
      'scoring_config.scorers[7] (name "judge"): params.model: Unknown provider in "nope:x"',
      'scoring_config.scorers[7] (name "judge"): params.rubric must contain {{output}}: the judge has to see the output',
      'scoring_config.scorers[8] (name "p"): params must be an object',
      expect.stringMatching(/^scoring_config\.scorers\[9\] \(name "q"\): type must be a string \(one of exact_match, /),
      'scoring_config.scorers[10] must be an object with "name", "type" and "params"',
      'scoring_config.scorers[11] (name "z") has unknown property "weight"',
      // A scorer's own checks assume schema-valid params, so they wait until the schema passes.
      'scoring_config.scorers[11] (name "z"): params.unit must be one of "chars", "words"',
      'scoring_config.weights["ghost"]: no scorer is named "ghost"',
      'scoring_config.weights["n"] must be a finite number ≥ 0',
      'scoring_config.weights["j"] must be a finite number ≥ 0',
      'scoring_config.weights["r"] must be a finite number ≥ 0',
    ]);
  });

  it('rejects wrong shapes at the top level', () => {
    expect(registry.validateScoringConfig([])).toEqual([
      'scoring_config must be an object with "scorers" and optional "weights"',
    ]);
    expect(registry.validateScoringConfig({ scorers: {} })).toEqual(['scoring_config.scorers must be an array']);
    expect(registry.validateScoringConfig({ weights: [1] })).toEqual([
      'scoring_config.weights must be an object mapping scorer names to numbers',
    ]);
    expect(registry.validateScoringConfig({ scorers: [{ name: 'a'.repeat(201), type: 'json_valid' }] })).toEqual([
      expect.stringMatching(/name is longer than 200 characters$/),
    ]);
    const many = Array.from({ length: MAX_SCORERS + 1 }, (_, i) => ({ name: `s${i}`, type: 'json_valid' }));
    expect(registry.validateScoringConfig({ scorers: many })).toEqual([
      `scoring_config.scorers has 51 entries; at most ${MAX_SCORERS} are allowed`,
    ]);
  });

  it('suggests the known types when an unknown one is far from all of them', () => {
    expect(registry.validateScoringConfig({ scorers: [{ name: 'x', type: 'sentiment' }] })[0]).toMatch(
      /\(known types: exact_match, contains, .*llm_judge\)$/,
    );
  });

  it('scores through the declared type and re-checks params', async () => {
    const ctx: ScoreContext = scoreContext('refund issued');
    await expect(
      registry.score(ctx, { name: 'r', type: 'contains', params: { value: 'refund' } }),
    ).resolves.toMatchObject({ value: 1 });
    await expect(registry.score(ctx, { name: 'r', type: 'contains', params: {} })).rejects.toThrow(ScorerError);
    await expect(registry.score(ctx, { name: 'r', type: 'gone' })).rejects.toThrow('unknown type "gone"');
  });

  it('refuses a scorer whose value is outside [0, 1]', async () => {
    const broken = new ScorerRegistry([
      {
        type: 'broken',
        description: 'd',
        paramsSchema: { type: 'object' },
        example: { name: 'b', type: 'broken', params: {} },
        score: () => Promise.resolve({ value: 1.5, metadata: {} }),
      },
    ]);
    await expect(broken.score(scoreContext('x'), { name: 'b', type: 'broken' })).rejects.toThrow(
      'scorer produced 1.5, not a value in [0, 1]',
    );
  });

  it('fails at construction on a duplicate type or a broken params schema', () => {
    const s = {
      type: 't',
      description: 'd',
      paramsSchema: { type: 'object' },
      example: { name: 'n', type: 't', params: {} },
      score: () => Promise.resolve({ value: 0, metadata: {} }),
    };
    expect(() => new ScorerRegistry([s, s])).toThrow('registered twice');
    expect(
      () => new ScorerRegistry([{ ...s, paramsSchema: { type: 'object', properties: { a: { type: 'strnig' } } } }]),
    ).toThrow();
  });

  it('turns JSON pointers into readable paths', () => {
    expect(jsonPointerToPath('params', '')).toBe('params');
    expect(jsonPointerToPath('params', '/values/0')).toBe('params.values[0]');
    expect(jsonPointerToPath('output', '/a~1b/c d')).toBe('output["a/b"]["c d"]');
  });
});
