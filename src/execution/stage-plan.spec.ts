import { planStages, renderPrompt, TemplateError } from './stage-plan';

describe('planStages', () => {
  it('makes a run without stages one "main" stage with the run model and params', () => {
    const [stage, ...rest] = planStages({
      prompt: 'Hi {{ name }}',
      model: 'mock:echo',
      params: { temperature: 0 },
      input_data: { name: 'Ann' },
    });
    expect(rest).toHaveLength(0);
    expect(stage).toEqual({
      index: 0,
      name: 'main',
      template: 'Hi {{ name }}',
      model: 'mock:echo',
      params: { temperature: 0 },
    });
  });

  it("lets a stage's model and params override the run's, key by key", () => {
    const stages = planStages({
      prompt: 'unused',
      model: 'mock:echo',
      params: { temperature: 0, max_tokens: 10 },
      input_data: { q: 'x' },
      stages: [
        { name: 'a', prompt: '{{q}}' },
        { name: 'b', prompt: '{{stages.a.output}}', model: 'openai:gpt-4o-mini', params: { temperature: 1 } },
      ],
    });
    expect(stages.map((s) => [s.name, s.model, s.params])).toEqual([
      ['a', 'mock:echo', { temperature: 0, max_tokens: 10 }],
      ['b', 'openai:gpt-4o-mini', { temperature: 1, max_tokens: 10 }],
    ]);
  });

  it('fails naming every missing input variable', () => {
    expect(() =>
      planStages({ prompt: 'Summarise {{ticket}} for {{ audience }} {{ticket}}', model: 'mock:echo', input_data: {} }),
    ).toThrow(
      new TemplateError(
        'Missing template variables "ticket", "audience" in the prompt of stage "main": not in input_data',
      ),
    );
    expect(() => planStages({ prompt: '{{x}}', model: 'mock:echo', input_data: '' })).toThrow(/"x"/);
  });

  it('rejects a reference to a later or unknown stage before any call', () => {
    const config = {
      prompt: '',
      model: 'mock:echo',
      input_data: {},
      stages: [
        { name: 'a', prompt: '{{stages.b.output}}' },
        { name: 'b', prompt: 'b' },
      ],
    };
    expect(() => planStages(config)).toThrow(/"stages\.b\.output" in the prompt of stage "a"/);
  });
});

describe('renderPrompt', () => {
  it('fills input variables (non-strings as JSON) and earlier stage outputs, whitespace allowed', () => {
    const out = renderPrompt(
      '{{a}}|{{ n }}|{{obj}}|{{ stages.s1.output }}',
      { a: 'A', n: 3, obj: { k: [1] } },
      new Map([['s1', 'OUT']]),
    );
    expect(out).toBe('A|3|{"k":[1]}|OUT');
  });

  it('leaves text that is not a placeholder alone', () => {
    expect(renderPrompt('{ {a} } {{}} {{a b}}', { a: 'A' }, new Map())).toBe('{ {a} } {{}} {{a b}}');
  });
});
