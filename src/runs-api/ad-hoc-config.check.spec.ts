import { adHocConfigProblems, type ModelValidator } from './ad-hoc-config.check';
import { type AdHocRunConfigDto } from './dto/create-run.dto';

const known: ModelValidator = (model) =>
  model === 'mock:echo' || model.startsWith('openai:') ? null : `Unknown model "${model}"`;
const config = (overrides: Partial<AdHocRunConfigDto>): AdHocRunConfigDto => ({
  prompt: 'p',
  model: 'mock:echo',
  ...overrides,
});

describe('adHocConfigProblems', () => {
  it('accepts runnable single-stage and multi-stage configs, missing input variables included', () => {
    expect(adHocConfigProblems(config({ prompt: 'Hi {{name}}' }), known)).toEqual([]);
    const stages = [
      { name: 'draft', prompt: 'Draft {{ticket}}' },
      { name: 'polish', prompt: 'Polish: {{ stages.draft.output }}', model: 'openai:gpt-4o-mini' },
    ];
    expect(adHocConfigProblems(config({ stages }), known)).toEqual([]);
  });

  it('names every problem: unknown models, stage refs outside stages, duplicates, later/unknown/malformed refs', () => {
    const stages = [
      { name: 'a', prompt: 'uses {{stages.b.output}}', model: 'nope:x' },
      { name: 'b', prompt: 'uses {{stages.a.output}}, {{stages.ghost.output}} and {{stages.a.input}}' },
      { name: 'a', prompt: 'again' },
    ];
    expect(adHocConfigProblems(config({ model: 'bad', prompt: 'top {{stages.a.output}}', stages }), known)).toEqual([
      'config.model: Unknown model "bad"',
      'config.prompt uses {{stages.a.output}}: stage outputs are only available to stage prompts',
      'config.stages[0].model: Unknown model "nope:x"',
      'config.stages[0].prompt uses {{stages.b.output}} but stage "b" does not run before it',
      'config.stages[1].prompt uses {{stages.ghost.output}} but no stage is named "ghost"',
      'config.stages[1].prompt uses {{stages.a.input}}: only {{stages.<name>.output}} or {{stages.<name>.tool_calls}} of an earlier stage is available',
      'config.stages[2].name "a" is already used by an earlier stage',
    ]);
  });
});

describe('adHocConfigProblems with chat prompts', () => {
  it('accepts a messages prompt and literal structured params', () => {
    const prompt = {
      messages: [
        { role: 'system' as const, content: 'Be brief.' },
        { role: 'user' as const, content: '{{ticket}}' },
      ],
    };
    const params = { tools: [{ type: 'function', function: { name: 'f' } }], seed: 3, stop: ['x'] };
    expect(adHocConfigProblems(config({ prompt, params }), known)).toEqual([]);
  });

  it('names malformed messages, sweeps and stage refs inside messages', () => {
    const out = adHocConfigProblems(
      config({
        prompt: { messages: [{ role: 'tool' as const, content: '{{stages.a.output}}' }] },
        params: { temperature: [0, 1], seed: { $sweep: [1, 2] } },
      }),
      known,
    );
    expect(out).toEqual([
      'config.prompt.messages[0].tool_call_id is required for a tool message (the id of the call it answers)',
      expect.stringMatching(/^config\.params\.temperature is a list: an ad-hoc run is one cell/),
      'config.params.seed is a {"$sweep"}: an ad-hoc run is one cell, nothing is swept',
    ]);
  });
});
