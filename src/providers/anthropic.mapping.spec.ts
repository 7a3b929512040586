import type Anthropic from '@anthropic-ai/sdk';
import { anthropicAnswer, anthropicRequestBody, anthropicUnsupported } from './anthropic.mapping';
import { type ChatMessage, type JsonValue, type LlmParams, ProviderError, userMessage } from './llm.types';

const tool = (name: string, parameters?: JsonValue): JsonValue => ({
  type: 'function',
  function: parameters === undefined ? { name } : { name, parameters },
});
const fields = (messages: ChatMessage[], params: LlmParams) =>
  anthropicUnsupported(messages, params).map((p) => p.field);

describe('anthropicRequestBody', () => {
  it('sends a string prompt as one user message with the default max_tokens', () => {
    expect(anthropicRequestBody('claude-x', userMessage('hi'), {})).toEqual({
      max_tokens: 1024,
      model: 'claude-x',
      messages: [{ role: 'user', content: 'hi' }],
      stream: false,
    });
  });

  it('joins leading system messages into `system`', () => {
    const body = anthropicRequestBody(
      'm',
      [
        { role: 'system', content: 'A' },
        { role: 'system', content: 'B' },
        { role: 'user', content: 'q' },
      ],
      {},
    );
    expect(body.system).toBe('A\n\nB');
    expect(body.messages).toEqual([{ role: 'user', content: 'q' }]);
  });

  it('puts consecutive tool results into one user turn, after the tool_use turn', () => {
    const body = anthropicRequestBody(
      'm',
      [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: 'checking',
          tool_calls: [
            { id: 'a', name: 'f', arguments: { x: 1 } },
            { id: 'b', name: 'g', arguments: {} },
          ],
        },
        { role: 'tool', tool_call_id: 'a', content: '1' },
        { role: 'tool', tool_call_id: 'b', content: '2' },
        { role: 'user', content: 'and?' },
      ],
      {},
    );
    expect(body.messages).toEqual([
      { role: 'user', content: 'q' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'checking' },
          { type: 'tool_use', id: 'a', name: 'f', input: { x: 1 } },
          { type: 'tool_use', id: 'b', name: 'g', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'a', content: '1' },
          { type: 'tool_result', tool_use_id: 'b', content: '2' },
        ],
      },
      { role: 'user', content: 'and?' },
    ]);
  });

  it('maps function tools to input_schema tools (an empty object schema when none is given)', () => {
    const schema = { type: 'object', properties: { q: { type: 'string' } } };
    const body = anthropicRequestBody('m', userMessage('x'), {
      tools: [
        { type: 'function', function: { name: 'search', description: 'Find', parameters: schema, strict: true } },
        tool('now'),
      ],
    });
    expect(body.tools).toEqual([
      { name: 'search', description: 'Find', input_schema: schema, strict: true },
      { name: 'now', input_schema: { type: 'object', properties: {} } },
    ]);
  });

  it.each([
    ['auto', { type: 'auto' }],
    ['none', { type: 'none' }],
    ['required', { type: 'any' }],
    [
      { type: 'function', function: { name: 'now' } },
      { type: 'tool', name: 'now' },
    ],
  ])('maps tool_choice %j', (choice, expected) => {
    expect(
      anthropicRequestBody('m', userMessage('x'), { tools: [tool('now')], tool_choice: choice }).tool_choice,
    ).toEqual(expected);
  });

  it('maps parallel_tool_calls: false onto the tool choice (auto when none is given)', () => {
    const base: LlmParams = { tools: [tool('now')], parallel_tool_calls: false };
    expect(anthropicRequestBody('m', userMessage('x'), base).tool_choice).toEqual({
      type: 'auto',
      disable_parallel_tool_use: true,
    });
    expect(anthropicRequestBody('m', userMessage('x'), { ...base, tool_choice: 'none' }).tool_choice).toEqual({
      type: 'none',
    });
    expect(anthropicRequestBody('m', userMessage('x'), { ...base, parallel_tool_calls: true })).not.toHaveProperty(
      'tool_choice',
    );
  });

  it('sends nothing for tool settings that mean "no tools" when there are none', () => {
    const body = anthropicRequestBody('m', userMessage('x'), { tool_choice: 'auto', parallel_tool_calls: false });
    expect(body).not.toHaveProperty('tool_choice');
    expect(body).not.toHaveProperty('tools');
    expect(body).not.toHaveProperty('parallel_tool_calls');
  });

  it('maps stop (string or list), max_completion_tokens and a json_schema response_format', () => {
    const schema = { type: 'object', properties: {}, additionalProperties: false };
    const body = anthropicRequestBody('m', userMessage('x'), {
      stop: 'END',
      max_completion_tokens: 10,
      response_format: { type: 'json_schema', json_schema: { name: 'n', schema } },
      top_k: 5,
      temperature: null,
    });
    expect(body).toEqual({
      max_tokens: 10,
      stop_sequences: ['END'],
      output_config: { format: { type: 'json_schema', schema } },
      top_k: 5,
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: false,
    });
    expect(anthropicRequestBody('m', userMessage('x'), { stop: ['a', 'b'] }).stop_sequences).toEqual(['a', 'b']);
    expect(anthropicRequestBody('m', userMessage('x'), { response_format: { type: 'text' } })).not.toHaveProperty(
      'output_config',
    );
  });

  it('refuses, as a permanent error, a call it cannot honour instead of sending it half-mapped', () => {
    expect(() => anthropicRequestBody('m', userMessage('x'), { seed: 1 })).toThrow(ProviderError);
    expect(() => anthropicRequestBody('m', userMessage('x'), { seed: 1 })).toThrow(
      'anthropic:m cannot honour params.seed',
    );
  });
});

describe('anthropicUnsupported', () => {
  it('accepts what it can map', () => {
    expect(
      anthropicUnsupported(
        [
          { role: 'system', content: 's' },
          { role: 'user', content: 'u' },
        ],
        {
          tools: [tool('f', { type: 'object' })],
          tool_choice: 'required',
          stop: ['x'],
          response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'object' } } },
          temperature: 1,
          top_k: 3,
          seed: null,
        },
      ),
    ).toEqual([]);
  });

  it.each(['seed', 'n', 'logprobs', 'top_logprobs', 'logit_bias', 'frequency_penalty', 'presence_penalty', 'user'])(
    'refuses the OpenAI-only param %s',
    (key) => {
      expect(fields(userMessage('x'), { [key]: 1 })).toEqual([`params.${key}`]);
    },
  );

  it('refuses structures it has no equivalent for, naming the field', () => {
    expect(fields(userMessage('x'), { response_format: { type: 'json_object' } })).toEqual(['params.response_format']);
    expect(fields(userMessage('x'), { response_format: { type: 'json_schema', json_schema: { name: 'n' } } })).toEqual([
      'params.response_format.json_schema.schema',
    ]);
    expect(fields(userMessage('x'), { tools: [{ type: 'custom', custom: { name: 'c' } }] })).toEqual([
      'params.tools[0]',
    ]);
    expect(fields(userMessage('x'), { tools: [tool('f', { type: 'string' })] })).toEqual([
      'params.tools[0].function.parameters',
    ]);
    expect(fields(userMessage('x'), { tools: [tool('f')], tool_choice: { type: 'allowed_tools' } })).toEqual([
      'params.tool_choice',
    ]);
    expect(fields(userMessage('x'), { tool_choice: 'required' })).toEqual(['params.tool_choice']);
    expect(fields(userMessage('x'), { stop: 'a', stop_sequences: ['b'] })).toEqual(['params.stop']);
  });

  it('refuses a system message after the conversation started, and a prompt without any other message', () => {
    expect(
      fields(
        [
          { role: 'user', content: 'u' },
          { role: 'system', content: 'late' },
        ],
        {},
      ),
    ).toEqual(['messages[1]']);
    expect(fields([{ role: 'system', content: 's' }], {})).toEqual(['messages']);
    expect(
      fields(
        [
          { role: 'user', content: 'u' },
          { role: 'assistant', content: '', tool_calls: [{ id: 'a', name: 'f', arguments: [1] }] },
        ],
        {},
      ),
    ).toEqual(['messages[1].tool_calls[0].arguments']);
  });
});

describe('anthropicAnswer', () => {
  const message = (content: unknown[], stopReason: string | null): Anthropic.Message =>
    ({
      id: 'msg',
      type: 'message',
      role: 'assistant',
      model: 'm',
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: 7, output_tokens: 3 },
    }) as unknown as Anthropic.Message;

  it('reads text, tool_use blocks and usage', () => {
    expect(
      anthropicAnswer(
        message(
          [
            { type: 'text', text: 'Let me ' },
            { type: 'text', text: 'look.' },
            { type: 'tool_use', id: 't1', name: 'f', input: { a: [1] } },
          ],
          'tool_use',
        ),
      ),
    ).toEqual({
      output: 'Let me look.',
      tokensIn: 7,
      tokensOut: 3,
      toolCalls: [{ id: 't1', name: 'f', arguments: { a: [1] } }],
      finishReason: 'tool_calls',
    });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'pause_turn'],
    [null, null],
  ])('maps stop_reason %s to finish_reason %s', (stopReason, finishReason) => {
    expect(anthropicAnswer(message([{ type: 'text', text: 'x' }], stopReason))).toMatchObject({
      finishReason,
      toolCalls: null,
    });
  });
});
