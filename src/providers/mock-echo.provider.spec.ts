import { ProviderError } from './llm.types';
import { MockEchoProvider } from './mock-echo.provider';
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
    await expect(mock.complete('echo', prompt, {}, 'k')).resolves.toEqual({
      output: prompt,
      tokensIn: 4,
      tokensOut: 4,
    });
    await expect(mock.complete('echo', '', {}, 'k')).resolves.toEqual({ output: '', tokensIn: 0, tokensOut: 0 });
  });

  it('counts words on any whitespace', () => {
    expect(countWords('a b\nc\t\td  ')).toBe(4);
    expect(countWords('   ')).toBe(0);
  });

  it('rejects other mock models permanently', async () => {
    const err = await failure(new MockEchoProvider().complete('gpt', 'x', {}, 'k'));
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
      const err = await failure(mock.complete('echo', 'hi', { mock_error: kind }, 'run-1:0'));
      expect(err.kind).toBe(kind);
      expect(err.status).toBe(status);
      expect(err.retryable).toBe(true);
    }
  });

  it('fails only the first mock_error_times calls of each callKey', async () => {
    const mock = new MockEchoProvider();
    const params = { mock_error: 'server_error', mock_error_times: 2 };
    await failure(mock.complete('echo', 'a', params, 'run-1:0'));
    await failure(mock.complete('echo', 'a', params, 'run-1:0'));
    await expect(mock.complete('echo', 'a', params, 'run-1:0')).resolves.toMatchObject({ output: 'a' });
    await expect(mock.complete('echo', 'a', params, 'run-1:0')).resolves.toMatchObject({ output: 'a' });
    // Another key has its own count.
    await failure(mock.complete('echo', 'a', params, 'run-2:0'));
  });

  it('accepts numeric params given as strings, and 0 error times means never fail', async () => {
    const mock = new MockEchoProvider();
    await expect(
      mock.complete('echo', 'a', { mock_error: 'timeout', mock_error_times: '0' }, 'k'),
    ).resolves.toMatchObject({ output: 'a' });
    await failure(mock.complete('echo', 'a', { mock_error: 'timeout', mock_error_times: '1' }, 'k2'));
  });

  it('rejects invalid fault parameters permanently', async () => {
    const mock = new MockEchoProvider();
    expect((await failure(mock.complete('echo', 'a', { mock_error: 'boom' }, 'k'))).kind).toBe('permanent');
    expect((await failure(mock.complete('echo', 'a', { mock_latency_ms: -5 }, 'k'))).kind).toBe('permanent');
    expect(
      (await failure(mock.complete('echo', 'a', { mock_error: 'timeout', mock_error_times: 'x' }, 'k'))).kind,
    ).toBe('permanent');
  });

  it('keeps at most maxTrackedKeys counters, forgetting the least recently used', async () => {
    const mock = new MockEchoProvider({ maxTrackedKeys: 3 });
    const params = { mock_error: 'rate_limit', mock_error_times: 1 };
    for (const key of ['a', 'b', 'c']) await failure(mock.complete('echo', 'x', params, key));
    // Touch `a` so `b` becomes the least recently used; `d` then evicts `b`.
    await mock.complete('echo', 'x', params, 'a');
    await failure(mock.complete('echo', 'x', params, 'd'));
    expect(mock.trackedKeys).toBe(3);
    await expect(mock.complete('echo', 'x', params, 'c')).resolves.toBeDefined();
    await failure(mock.complete('echo', 'x', params, 'b'));
    for (let i = 0; i < 100; i++) await mock.complete('echo', 'x', params, `k${i}`).catch(() => undefined);
    expect(mock.trackedKeys).toBe(3);
  });

  it('does not count calls without mock_error', async () => {
    const mock = new MockEchoProvider();
    await mock.complete('echo', 'x', {}, 'a');
    expect(mock.trackedKeys).toBe(0);
  });

  it('waits mock_latency_ms before answering', async () => {
    jest.useFakeTimers();
    const mock = new MockEchoProvider();
    let settled = false;
    const call = mock.complete('echo', 'slow', { mock_latency_ms: 250 }, 'k').then((r) => {
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
    const call = new MockEchoProvider().complete('echo', 'x', { mock_latency_ms: 60_000 }, 'k', controller.signal);
    controller.abort();
    expect((await failure(call)).kind).toBe('timeout');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('fails an injected timeout at once, without waiting for any timeout', async () => {
    jest.useFakeTimers();
    const call = new MockEchoProvider().complete('echo', 'x', { mock_error: 'timeout' }, 'k');
    expect((await failure(call)).kind).toBe('timeout');
  });
});
