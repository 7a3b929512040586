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
      'config.stages[1].prompt uses {{stages.a.input}}: only {{stages.<name>.output}} of an earlier stage is available',
      'config.stages[2].name "a" is already used by an earlier stage',
    ]);
  });
});
