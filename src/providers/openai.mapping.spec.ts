import type OpenAI from 'openai';
import { type ChatMessage, userMessage } from './llm.types';
import { openAiAnswer, openAiRequestBody, parseArguments } from './openai.mapping';

describe('openAiRequestBody', () => {
  it('sends a string prompt as one user message, params literally, never mock_* or null ones', () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
    expect(
      openAiRequestBody('gpt-4o', userMessage('hi'), {
        temperature: 0,
        tools,
        tool_choice: 'required',
        response_format: { type: 'json_object' },
        stop: ['a'],
        seed: 3,
        top_p: null,
        mock_latency_ms: 5,
        model: 'other',
        stream: true,
      }),
    ).toEqual({
      temperature: 0,
      tools,
      tool_choice: 'required',
      response_format: { type: 'json_object' },
      stop: ['a'],
      seed: 3,
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      stream: false,
    });
  });

  it('maps every role, assistant tool calls with JSON-text arguments', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 's' },
      { role: 'user', content: 'u' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'c', name: 'f', arguments: { a: 1 } }] },
      { role: 'tool', tool_call_id: 'c', content: 'r' },
      { role: 'assistant', content: 'done', tool_calls: [{ id: 'd', name: 'g', arguments: 'raw' }] },
      { role: 'assistant', content: 'plain' },
    ];
    expect(openAiRequestBody('m', messages, {}).messages).toEqual([
      { role: 'system', content: 's' },
      { role: 'user', content: 'u' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
      },
      { role: 'tool', tool_call_id: 'c', content: 'r' },
      {
        role: 'assistant',
        content: 'done',
        tool_calls: [{ id: 'd', type: 'function', function: { name: 'g', arguments: 'raw' } }],
      },
      { role: 'assistant', content: 'plain' },
    ]);
  });
});

describe('openAiAnswer', () => {
  const completion = (message: Record<string, unknown>, finishReason: string | null = 'stop') =>
    ({
      id: 'x',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finishReason, logprobs: null }],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    }) as unknown as OpenAI.Chat.ChatCompletion;

  it('reads content, usage and finish_reason; no tool calls is null', () => {
    expect(openAiAnswer(completion({ content: 'hi' }))).toEqual({
      output: 'hi',
      tokensIn: 5,
      tokensOut: 2,
      toolCalls: null,
      finishReason: 'stop',
    });
    expect(openAiAnswer(completion({ content: 'x', tool_calls: [] }))).toMatchObject({ toolCalls: null });
  });

  it('reads function and custom tool calls, parsing JSON arguments', () => {
    const answer = openAiAnswer(
      completion(
        {
          content: null,
          tool_calls: [
            { id: 'a', type: 'function', function: { name: 'f', arguments: '{"q": "x", "n": [1]}' } },
            { id: 'b', type: 'function', function: { name: 'g', arguments: '' } },
            { id: 'c', type: 'custom', custom: { name: 'sql', input: 'SELECT 1' } },
          ],
        },
        'tool_calls',
      ),
    );
    expect(answer).toEqual({
      output: '',
      tokensIn: 5,
      tokensOut: 2,
      finishReason: 'tool_calls',
      toolCalls: [
        { id: 'a', name: 'f', arguments: { q: 'x', n: [1] } },
        { id: 'b', name: 'g', arguments: {} },
        { id: 'c', name: 'sql', arguments: 'SELECT 1' },
      ],
    });
  });

  it('keeps arguments that are not JSON as their text', () => {
    expect(parseArguments('{oops')).toBe('{oops');
    expect(parseArguments('  ')).toEqual({});
    expect(parseArguments('[1,2]')).toEqual([1, 2]);
  });
});
