import { type LlmParams, type ProviderCall, ProviderError, userMessage } from './llm.types';
import { messagesText, MockEchoProvider } from './mock-echo.provider';

const ask = (prompt: string, params: LlmParams): ProviderCall => ({ messages: userMessage(prompt), params });
import { countWords } from '../domain/words';

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('MockEchoProvider', () => {
  afterEach(() => jest.useRealTimers());

  it('echoes the prompt verbatim with whitespace word counts as tokens', async () => {
    const mock = new MockEchoProvider();
    const prompt = '  Summarise:\n the  ticket\tnow ';
    await expect(mock.complete('echo', ask(prompt, {}), 'k')).resolves.toEqual({
      output: prompt,
      tokensIn: 4,
      tokensOut: 4,
      toolCalls: null,
      finishReason: 'stop',
    });
    await expect(mock.complete('echo', ask('', {}), 'k')).resolves.toMatchObject({
      output: '',
      tokensIn: 0,
      tokensOut: 0,
    });
  });

  it('counts words on any whitespace', () => {
    expect(countWords('a b\nc\t\td  ')).toBe(4);
    expect(countWords('   ')).toBe(0);
  });

  it('rejects other mock models permanently', async () => {
    const err = await failure(new MockEchoProvider().complete('gpt', ask('x', {}), 'k'));
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('mock:gpt');
  });

  it.each([
    ['rate_limit', 429],
    ['server_error', 500],
    ['timeout', null],
  ] as const)('fails every call with mock_error=%s by default', async (kind, status) => {
    const mock = new MockEchoProvider();
    for (let i = 0; i < 3; i++) {
      const err = await failure(mock.complete('echo', ask('hi', { mock_error: kind }), 'run-1:0'));
      expect(err.kind).toBe(kind);
      expect(err.status).toBe(status);
      expect(err.retryable).toBe(true);
    }
  });

  it('fails only the first mock_error_times calls of each callKey', async () => {
    const mock = new MockEchoProvider();
    const params = { mock_error: 'server_error', mock_error_times: 2 };
    await failure(mock.complete('echo', ask('a', params), 'run-1:0'));
    await failure(mock.complete('echo', ask('a', params), 'run-1:0'));
    await expect(mock.complete('echo', ask('a', params), 'run-1:0')).resolves.toMatchObject({ output: 'a' });
    await expect(mock.complete('echo', ask('a', params), 'run-1:0')).resolves.toMatchObject({ output: 'a' });
    // Another key has its own count.
    await failure(mock.complete('echo', ask('a', params), 'run-2:0'));
  });

  it('accepts numeric params given as strings, and 0 error times means never fail', async () => {
    const mock = new MockEchoProvider();
    await expect(
      mock.complete('echo', ask('a', { mock_error: 'timeout', mock_error_times: '0' }), 'k'),
    ).resolves.toMatchObject({ output: 'a' });
    await failure(mock.complete('echo', ask('a', { mock_error: 'timeout', mock_error_times: '1' }), 'k2'));
  });

  it('rejects invalid fault parameters permanently', async () => {
    const mock = new MockEchoProvider();
    expect((await failure(mock.complete('echo', ask('a', { mock_error: 'boom' }), 'k'))).kind).toBe('permanent');
    expect((await failure(mock.complete('echo', ask('a', { mock_latency_ms: -5 }), 'k'))).kind).toBe('permanent');
    expect(
      (await failure(mock.complete('echo', ask('a', { mock_error: 'timeout', mock_error_times: 'x' }), 'k'))).kind,
    ).toBe('permanent');
  });

  it('keeps at most maxTrackedKeys counters, forgetting the least recently used', async () => {
    const mock = new MockEchoProvider({ maxTrackedKeys: 3 });
    const params = { mock_error: 'rate_limit', mock_error_times: 1 };
    for (const key of ['a', 'b', 'c']) await failure(mock.complete('echo', ask('x', params), key));
    // Touch `a` so `b` becomes the least recently used; `d` then evicts `b`.
    await mock.complete('echo', ask('x', params), 'a');
    await failure(mock.complete('echo', ask('x', params), 'd'));
    expect(mock.trackedKeys).toBe(3);
    await expect(mock.complete('echo', ask('x', params), 'c')).resolves.toBeDefined();
    await failure(mock.complete('echo', ask('x', params), 'b'));
    for (let i = 0; i < 100; i++) await mock.complete('echo', ask('x', params), `k${i}`).catch(() => undefined);
    expect(mock.trackedKeys).toBe(3);
  });

  it('does not count calls without mock_error', async () => {
    const mock = new MockEchoProvider();
    await mock.complete('echo', ask('x', {}), 'a');
    expect(mock.trackedKeys).toBe(0);
  });

  it('waits mock_latency_ms before answering', async () => {
    jest.useFakeTimers();
    const mock = new MockEchoProvider();
    let settled = false;
    const call = mock.complete('echo', ask('slow', { mock_latency_ms: 250 }), 'k').then((r) => {
      settled = true;
      return r;
    });
    await jest.advanceTimersByTimeAsync(249);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await expect(call).resolves.toMatchObject({ output: 'slow' });
  });

  it('stops waiting when the signal aborts', async () => {
    jest.useFakeTimers();
    const controller = new AbortController();
    const call = new MockEchoProvider().complete('echo', ask('x', { mock_latency_ms: 60_000 }), 'k', controller.signal);
    controller.abort();
    expect((await failure(call)).kind).toBe('timeout');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('fails an injected timeout at once, without waiting for any timeout', async () => {
    jest.useFakeTimers();
    const call = new MockEchoProvider().complete('echo', ask('x', { mock_error: 'timeout' }), 'k');
    expect((await failure(call)).kind).toBe('timeout');
  });

  it('answers chat messages with their contents in order, a blank line between two', async () => {
    const messages = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'Hi there' },
      { role: 'assistant' as const, content: 'Hello.' },
      { role: 'user' as const, content: 'Summarise: x y' },
    ];
    const expected = 'You are terse.\n\nHi there\n\nHello.\n\nSummarise: x y';
    expect(messagesText(messages)).toBe(expected);
    const answer = await new MockEchoProvider().complete('echo', { messages, params: {} }, 'k');
    expect(answer).toEqual({ output: expected, tokensIn: 9, tokensOut: 9, toolCalls: null, finishReason: 'stop' });
  });

  it('returns mock_tool_calls as tool calls with deterministic ids and finish_reason tool_calls', async () => {
    const params: LlmParams = {
      mock_tool_calls: [{ name: 'get_weather', arguments: { city: 'Paris', days: [1, 2] } }, { name: 'ping' }],
    };
    const answer = await new MockEchoProvider().complete('echo', ask('weather?', params), 'k');
    expect(answer).toMatchObject({
      output: 'weather?',
      finishReason: 'tool_calls',
      toolCalls: [
        { id: 'call_0', name: 'get_weather', arguments: { city: 'Paris', days: [1, 2] } },
        { id: 'call_1', name: 'ping', arguments: {} },
      ],
    });
  });

  it.each([
    ['not a list', { name: 'x' }],
    ['an entry without a name', [{ arguments: {} }]],
    ['an empty name', [{ name: '' }]],
    ['an unknown key', [{ name: 'x', args: {} }]],
  ])('refuses mock_tool_calls that is %s, at creation and at run time', async (_what, value) => {
    const mock = new MockEchoProvider();
    const call = ask('x', { mock_tool_calls: value });
    expect(mock.unsupportedFields('echo', call)).toEqual([
      { field: 'params.mock_tool_calls', reason: expect.stringContaining('list of') },
    ]);
    expect((await failure(mock.complete('echo', call, 'k'))).kind).toBe('permanent');
  });

  it('honours every other field and needs no credentials', () => {
    const mock = new MockEchoProvider();
    const call = ask('x', { tools: [], tool_choice: 'required', response_format: { type: 'json_object' }, seed: 1 });
    expect(mock.unsupportedFields('echo', call)).toEqual([]);
    expect(mock.missingCredentials()).toBeNull();
  });
});
