import { checkExperimentConfig, validateExperimentConfig } from './experiment-config.validator';

const validateModel = (m: string): string | null =>
  m === 'mock:echo' || m === 'openai:gpt-4o-mini' ? null : `Unknown model "${m}"`;
const valid = {
  prompts: ['Summarise: {{ticket}}', 'TL;DR {{ ticket }} for {{customer}}'],
  models: ['mock:echo'],
  params: { temperature: [0, 0.7], max_tokens: 256, stop: null },
  inputs: [
    { ticket: 'a', customer: 'x' },
    { ticket: 'b', customer: 'y', extra: 1 },
  ],
  repetitions: 3,
  cache: false,
};
const problems = (config: unknown) => validateExperimentConfig(config, validateModel);

describe('validateExperimentConfig', () => {
  it('accepts a valid config', () => {
    expect(problems(valid)).toEqual([]);
    expect(problems({ prompts: ['hi'], models: ['mock:echo'], inputs: [{}] })).toEqual([]);
  });

  it('rejects a non-object and unknown keys', () => {
    expect(problems(null)).toEqual([expect.stringMatching(/^config must be an object/)]);
    expect(problems([])).toHaveLength(1);
    expect(problems({ ...valid, promtps: [] })).toEqual([expect.stringMatching(/^config\.promtps is not allowed/)]);
  });

  it('names every bad prompt, model, param, input, repetitions and cache at once', () => {
    const out = problems({
      prompts: ['ok', '', 3, 'ok'],
      models: ['mock:echo', 'nope:x', 7],
      params: { temperature: [], top_p: [0.1, { a: 1 }], nested: { $sweep: [] }, n: Number.NaN, seed: [1, 1] },
      inputs: [{}, 'text', []],
      repetitions: 0,
      cache: 'yes',
    });
    expect(out).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config\.prompts\[1\] must be a non-empty string or \{"messages"/),
        expect.stringMatching(/^config\.prompts\[2\] must be a non-empty string or \{"messages"/),
        expect.stringMatching(/^config\.prompts\[3\] repeats config\.prompts\[0\]/),
        'config.models[1]: Unknown model "nope:x"',
        'config.models[2] must be a "provider:model" string',
        'config.params.temperature is an empty list: a sweep needs at least one value',
        expect.stringMatching(/^config\.params\.top_p\[1\] must be a scalar/),
        'config.params.nested.$sweep must be a non-empty list of values',
        expect.stringMatching(/^config\.params\.n must be a JSON value/),
        expect.stringMatching(/^config\.params\.seed must be an integer \(a list here is not a sweep\); to sweep it/),
        'config.inputs[1] must be an object',
        'config.inputs[2] must be an object',
        'config.repetitions must be an integer from 1 to 100',
        'config.cache must be a boolean',
      ]),
    );
    expect(out).toHaveLength(14);
  });

  it('requires non-empty prompts, models and inputs', () => {
    const out = problems({ prompts: [], models: 'mock:echo' });
    expect(out).toEqual([
      expect.stringMatching(/^config\.prompts must be a non-empty list/),
      expect.stringMatching(/^config\.models must be a non-empty list/),
      expect.stringMatching(/^config\.inputs must be a non-empty list of objects/),
    ]);
    expect(problems({ ...valid, repetitions: 101 })).toEqual(['config.repetitions must be an integer from 1 to 100']);
    expect(problems({ ...valid, repetitions: 1.5 })).toEqual(['config.repetitions must be an integer from 1 to 100']);
  });

  it('reports which input index lacks which variable, and which prompt uses it', () => {
    const out = problems({
      ...valid,
      inputs: [{ ticket: 'a', customer: 'x' }, { ticket: 'b' }, { customer: 'z', ticket: undefined }],
    });
    expect(out).toEqual([
      'config.inputs[1] lacks {{customer}} (used by config.prompts[1])',
      'config.inputs[2] lacks {{ticket}} (used by config.prompts[0], config.prompts[1])',
    ]);
  });

  it('caps the missing-variable lines for big datasets', () => {
    const out = problems({
      prompts: ['{{a}} {{b}}'],
      models: ['mock:echo'],
      inputs: Array.from({ length: 100 }, () => ({})),
    });
    expect(out).toHaveLength(51);
    expect(out[50]).toBe('… and 150 more missing input variable(s)');
  });

  it('keeps stage outputs out of the main prompts', () => {
    expect(problems({ ...valid, prompts: ['{{stages.a.output}}'] })).toEqual([
      'config.prompts[0] uses {{stages.a.output}}: stage outputs are only available to stage prompts',
    ]);
  });

  describe('stages', () => {
    const withStages = (stages: unknown) => problems({ ...valid, stages });

    it('accepts a well-formed pipeline referencing earlier stages and input variables', () => {
      expect(
        withStages([
          { name: 'draft', prompt: 'Draft for {{ticket}}' },
          {
            name: 'critique',
            prompt: 'Critique {{stages.draft.output}}',
            model: 'openai:gpt-4o-mini',
            params: { temperature: 0 },
          },
          { name: 'final', prompt: '{{stages.draft.output}} / {{stages.critique.output}}' },
        ]),
      ).toEqual([]);
      expect(withStages(null)).toEqual([]);
    });

    it('names every malformed stage', () => {
      const out = withStages([
        { name: 'a', prompt: 'x {{stages.b.output}} {{stages.zzz.output}} {{stages.a.input}} {{missing}}' },
        { name: 'b', prompt: '', model: 'bad:model', params: { t: [1, 2] }, extra: 1 },
        { name: 'a', prompt: 'ok' },
        { name: 'has.dot', prompt: 'ok' },
        'nope',
      ]);
      expect(out).toEqual(
        expect.arrayContaining([
          'config.stages[0].prompt uses {{stages.b.output}} but stage "b" does not run before it',
          'config.stages[0].prompt uses {{stages.zzz.output}} but no stage is named "zzz"',
          'config.stages[0].prompt uses {{stages.a.input}}: only {{stages.<name>.output}} or {{stages.<name>.tool_calls}} of an earlier stage is available',
          expect.stringMatching(/^config\.stages\[1\]\.extra is not allowed/),
          expect.stringMatching(/^config\.stages\[1\]\.prompt must be a non-empty string or/),
          'config.stages[1].model: Unknown model "bad:model"',
          expect.stringMatching(/^config\.stages\[1\]\.params\.t is a list: stage params are not swept/),
          'config.stages[2].name "a" is already used by an earlier stage',
          expect.stringMatching(/^config\.stages\[3\]\.name must be 1-100 letters/),
          expect.stringMatching(/^config\.stages\[4\] must be an object/),
          'config.inputs[0] lacks {{missing}} (used by config.stages[0].prompt)',
          'config.inputs[1] lacks {{missing}} (used by config.stages[0].prompt)',
        ]),
      );
      expect(out).toHaveLength(12);
    });

    it('rejects a stage referencing itself and a non-list', () => {
      expect(withStages([{ name: 'a', prompt: '{{stages.a.output}}' }])).toEqual([
        'config.stages[0].prompt uses {{stages.a.output}} but stage "a" does not run before it',
      ]);
      expect(withStages({ name: 'a' })).toEqual([expect.stringMatching(/^config\.stages must be null or a list/)]);
    });
  });

  it('checks 10,000 variables × 40,000 inputs in linear time and stops listing at the cap', () => {
    const prompt = Array.from({ length: 10_000 }, (_, i) => `{{v${i}}}`).join('');
    const some = Object.fromEntries(Array.from({ length: 9_999 }, (_, i) => [`v${i}`, 1]));
    const inputs = [...Array.from({ length: 40_000 }, () => ({})), some];
    const started = Date.now();
    const found = problems({ prompts: [prompt], models: ['mock:echo'], inputs });
    // 4·10⁸ lookups (15 s) before; ~0.4 s now, with room for a loaded machine.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(found).toHaveLength(51);
    expect(found[49]).toBe('config.inputs[0] lacks {{v49}} (used by config.prompts[0])');
    expect(found[50]).toBe(`… and ${10_000 * 40_000 - 50 + 1} more missing input variable(s)`);
  });

  describe('chat prompts and structured params', () => {
    const tools = [{ type: 'function', function: { name: 'refund', parameters: { type: 'object' } } }];

    it('accepts messages prompts, literal structured params and $sweep', () => {
      expect(
        problems({
          prompts: [
            'plain {{ticket}}',
            {
              messages: [
                { role: 'system', content: 'You help.' },
                { role: 'user', content: 'Ticket: {{ticket}}' },
                { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'refund', arguments: {} }] },
                { role: 'tool', content: 'done', tool_call_id: 'c1' },
              ],
            },
          ],
          models: ['mock:echo'],
          params: {
            tools,
            tool_choice: 'auto',
            response_format: { type: 'json_object' },
            stop: ['\n\n', 'END'],
            seed: { $sweep: [1, 2] },
            temperature: [0, 1],
            metadata: { team: 'support' },
          },
          inputs: [{ ticket: 't' }],
        }),
      ).toEqual([]);
    });

    it('names every malformed message by its path', () => {
      const out = problems({
        prompts: [
          { messages: [] },
          {
            messages: [
              { role: 'boss', content: 'x' },
              { role: 'user', content: 3 },
              { role: 'tool', content: 'r' },
              { role: 'user', content: 'x', tool_calls: [] },
              'text',
              { role: 'assistant', content: '', tool_calls: [{ name: 'f' }] },
            ],
            extra: 1,
          },
        ],
        models: ['mock:echo'],
        inputs: [{}],
      });
      expect(out).toEqual([
        'config.prompts[0].messages must be a non-empty list of {role, content}',
        'config.prompts[1].extra is not allowed (allowed: messages)',
        'config.prompts[1].messages[0].role must be one of system, user, assistant, tool',
        'config.prompts[1].messages[1].content must be a string',
        'config.prompts[1].messages[2].tool_call_id is required for a tool message (the id of the call it answers)',
        'config.prompts[1].messages[3].tool_calls is only allowed on assistant messages',
        'config.prompts[1].messages[4] must be an object {role, content}',
        'config.prompts[1].messages[5].tool_calls[0] must be {id, name, arguments?} with non-empty string id and name',
      ]);
    });

    it('checks the variables of every message against every input', () => {
      const out = problems({
        prompts: [
          {
            messages: [
              { role: 'system', content: 'Tone: {{tone}}' },
              { role: 'user', content: '{{ticket}}' },
            ],
          },
        ],
        models: ['mock:echo'],
        inputs: [{ ticket: 'a' }, { tone: 'warm' }],
      });
      expect(out).toEqual([
        'config.inputs[0] lacks {{tone}} (used by config.prompts[0].messages[0].content)',
        'config.inputs[1] lacks {{ticket}} (used by config.prompts[0].messages[1].content)',
      ]);
    });

    it('treats identical messages prompts as duplicates whatever their key order', () => {
      const out = problems({
        prompts: [{ messages: [{ role: 'user', content: 'x' }] }, { messages: [{ content: 'x', role: 'user' }] }],
        models: ['mock:echo'],
        inputs: [{}],
      });
      expect(out).toEqual([expect.stringMatching(/^config\.prompts\[1\] repeats config\.prompts\[0\]/)]);
    });

    it('rejects bad literal fields, bad sweeps and stage refs in stage messages', () => {
      const out = problems({
        prompts: ['x'],
        models: ['mock:echo'],
        params: {
          tools: { name: 'f' },
          stop: [1],
          seed: [1, 2],
          response_format: 'json',
          temperature: { $sweep: [0, 0] },
          top_p: { $sweep: [1], other: 2 },
          n: [{ a: 1 }],
        },
        stages: [
          { name: 'a', prompt: { messages: [{ role: 'user', content: '{{stages.b.tool_calls}}' }] } },
          { name: 'b', prompt: 'ok', params: { temperature: { $sweep: [1, 2] } } },
        ],
        inputs: [{}],
      });
      expect(out).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^config\.params\.tools must be a list of tool objects/),
          expect.stringMatching(/^config\.params\.stop must be a string or a list of strings/),
          expect.stringMatching(/^config\.params\.seed must be an integer .*\{"\$sweep"/),
          expect.stringMatching(/^config\.params\.response_format must be an object/),
          'config.params.temperature.$sweep[1] repeats the value 0: identical cells would run twice',
          expect.stringMatching(/^config\.params\.top_p has "\$sweep" beside other keys/),
          expect.stringMatching(/^config\.params\.n\[0\] must be a scalar .*\$sweep/),
          'config.stages[0].prompt.messages[0].content uses {{stages.b.tool_calls}} but stage "b" does not run before it',
          expect.stringMatching(
            /^config\.stages\[1\]\.params\.temperature is a \{"\$sweep"\}: stage params are not swept/,
          ),
        ]),
      );
      expect(out).toHaveLength(9);
    });
  });
});

describe('config.dataset', () => {
  const ok = () => null;
  const dataset = { id: '00000000-0000-4000-8000-000000000000' };
  const grid = { prompts: ['S: {{ticket}}'], models: ['mock:echo'] };

  it('stands in for inputs: exactly one of the two, and the variables are left to the SQL check', () => {
    const checked = checkExperimentConfig({ ...grid, dataset }, ok);
    expect(checked.problems).toEqual([]);
    expect(checked.uses).toEqual([{ variable: 'ticket', usedBy: ['config.prompts[0]'], more: 0 }]);
    expect(validateExperimentConfig({ ...grid, dataset, inputs: [{ ticket: 'x' }] }, ok)).toEqual([
      'config.inputs and config.dataset are both given: exactly one of the two is allowed',
    ]);
    expect(validateExperimentConfig(grid, ok)).toEqual([expect.stringMatching(/config\.inputs.*config\.dataset/)]);
  });

  it('names each malformed field', () => {
    expect(validateExperimentConfig({ ...grid, dataset: { id: 'x', version: 1.5, other: 1 } }, ok)).toEqual([
      'config.dataset.other is not allowed (allowed: id, version)',
      'config.dataset.id must be a UUID',
      'config.dataset.version must be a positive integer (omit it to pin the latest version)',
    ]);
    expect(validateExperimentConfig({ ...grid, dataset: 'x' }, ok)).toEqual([
      'config.dataset must be an object {id, version?}',
    ]);
  });
});
