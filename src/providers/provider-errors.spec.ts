import { kindForStatus, parseRetryAfter, passThroughParams, toProviderError } from './provider-errors';

describe('provider error mapping', () => {
  it.each([
    [429, 'rate_limit'],
    [529, 'rate_limit'],
    [500, 'server_error'],
    [503, 'server_error'],
    [408, 'server_error'],
    [409, 'server_error'],
    [400, 'permanent'],
    [401, 'permanent'],
    [404, 'permanent'],
    [422, 'permanent'],
  ] as const)('maps HTTP %i to %s', (status, kind) => {
    expect(kindForStatus(status)).toBe(kind);
  });

  it('reads retry-after-ms, then retry-after in seconds or as an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '1500.5', 'retry-after': '9' }), now)).toBe(1501);
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(parseRetryAfter(new Headers({ 'retry-after': '0.25' }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now)).toBe(30_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Tue, 31 Dec 2024 00:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfter({ 'Retry-After': '3' }, now)).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeNull();
    expect(parseRetryAfter(new Headers(), now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });

  it('builds ProviderErrors from SDK-shaped errors', () => {
    const transport = (e: unknown) => e instanceof RangeError;
    const limited = toProviderError(
      Object.assign(new Error('429 slow down'), { status: 429, headers: new Headers({ 'retry-after': '1' }) }),
      'openai:x',
      transport,
    );
    expect(limited).toMatchObject({
      kind: 'rate_limit',
      status: 429,
      retryAfterMs: 1000,
      message: 'openai:x: 429 slow down',
    });
    const bad = toProviderError(
      Object.assign(new Error('400 bad'), { status: 400, headers: new Headers({ 'retry-after': '1' }) }),
      'openai:x',
      transport,
    );
    expect(bad).toMatchObject({ kind: 'permanent', status: 400, retryAfterMs: null });
    expect(toProviderError(new RangeError('ECONNRESET'), 'openai:x', transport)).toMatchObject({
      kind: 'timeout',
      status: null,
    });
    expect(toProviderError(new Error('bad argument'), 'openai:x', transport)).toMatchObject({ kind: 'permanent' });
  });

  it('passes params through except mock_*, nulls and reserved fields', () => {
    expect(
      passThroughParams(
        { temperature: 0.7, max_tokens: 5, seed: 1, stop: 'END', mock_error: 'timeout', top_p: null, model: 'x' },
        ['model'],
      ),
    ).toEqual({ temperature: 0.7, max_tokens: 5, seed: 1, stop: 'END' });
  });
});
