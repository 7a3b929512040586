import { planStages, renderPrompt, renderStageMessages, TemplateError } from './stage-plan';

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
      new Map([['s1', { output: 'OUT', toolCalls: null }]]),
    );
    expect(out).toBe('A|3|{"k":[1]}|OUT');
  });

  it('leaves text that is not a placeholder alone', () => {
    expect(renderPrompt('{ {a} } {{}} {{a b}}', { a: 'A' }, new Map())).toBe('{ {a} } {{}} {{a b}}');
  });
});

describe('chat prompts', () => {
  const messages = {
    messages: [
      { role: 'system' as const, content: 'Tone: {{tone}}' },
      { role: 'user' as const, content: 'Ticket: {{ticket}}' },
      { role: 'assistant' as const, content: '', tool_calls: [{ id: 'c1', name: 'lookup', arguments: { q: 1 } }] },
      { role: 'tool' as const, content: 'found', tool_call_id: 'c1' },
    ],
  };

  it('renders every message and keeps roles, tool ids and calls; a string is one user message', () => {
    expect(renderStageMessages(messages, { tone: 'warm', ticket: 'broken' }, new Map())).toEqual([
      { role: 'system', content: 'Tone: warm' },
      { role: 'user', content: 'Ticket: broken' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'lookup', arguments: { q: 1 } }] },
      { role: 'tool', content: 'found', tool_call_id: 'c1' },
    ]);
    expect(renderStageMessages('Hi {{tone}}', { tone: 'x' }, new Map())).toEqual([{ role: 'user', content: 'Hi x' }]);
  });

  it('fails before any call when a variable of any message is missing', () => {
    expect(() => planStages({ prompt: messages, model: 'mock:echo', input_data: { ticket: 't' } })).toThrow(
      /Missing template variable "tone"/,
    );
  });

  it('renders {{stages.<name>.tool_calls}} as JSON and passes structured params literally', () => {
    const calls = [{ id: 'call_0', name: 'refund', arguments: { order: 'A1' } }];
    const answers = new Map([['pick', { output: '', toolCalls: calls }]]);
    expect(renderPrompt('Calls: {{stages.pick.tool_calls}}', {}, answers)).toBe(`Calls: ${JSON.stringify(calls)}`);
    const tools = [{ type: 'function', function: { name: 'refund' } }];
    const stages = planStages({
      prompt: 'unused',
      model: 'mock:echo',
      params: { tools, stop: ['x'] },
      stages: [
        { name: 'pick', prompt: 'p' },
        { name: 'act', prompt: { messages: [{ role: 'user', content: '{{stages.pick.tool_calls}}' }] } },
      ],
    });
    expect(stages[1].params).toEqual({ tools, stop: ['x'] });
  });
});
