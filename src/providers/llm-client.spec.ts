import { Logger } from '@nestjs/common';
import { loadConfig } from '../config/configuration';
import { LlmClient, type LlmClientOptions } from './llm-client';
import {
  type LlmParams,
  type LlmProvider,
  type ProviderAnswer,
  type ProviderCall,
  ProviderError,
  userMessage,
} from './llm.types';
import { MockEchoProvider } from './mock-echo.provider';
import { PriceTable } from './price-table';
import { ProviderRegistry } from './provider-registry';

type Step = ProviderError | Error | { output: string; tokensIn: number; tokensOut: number } | 'hang';

const answer = (step: { output: string; tokensIn: number; tokensOut: number }): ProviderAnswer => ({
  ...step,
  toolCalls: null,
  finishReason: 'stop',
});

/** A scripted adapter: each call consumes the next step; `hang` waits for the abort signal. */
class ScriptedProvider implements LlmProvider {
  readonly prefix = 'openai';
  calls: Array<{ model: string; prompt: string; params: LlmParams; callKey: string }> = [];
  constructor(private readonly steps: Step[]) {}

  unsupportedFields() {
    return [];
  }

  missingCredentials() {
    return null;
  }

  async complete(model: string, call: ProviderCall, callKey: string, signal?: AbortSignal): Promise<ProviderAnswer> {
    const prompt = call.messages.map((m) => m.content).join('');
    this.calls.push({ model, prompt, params: call.params, callKey });
    const step = this.steps.shift() ?? { output: 'ok', tokensIn: 1, tokensOut: 1 };
    if (step === 'hang') {
      return new Promise<never>((_, reject) =>
        signal?.addEventListener('abort', () => reject(new Error('sdk saw abort'))),
      );
    }
    if (step instanceof Error) throw step;
    return answer(step);
  }
}

function setup(steps: Step[], env: Record<string, string> = {}, options: LlmClientOptions = {}) {
  const config = loadConfig({
    PROVIDER_MAX_ATTEMPTS: '4',
    PROVIDER_RETRY_BASE_MS: '100',
    PROVIDER_RETRY_MAX_MS: '1000',
    ...env,
  });
  const prices = new PriceTable(config);
  const provider = new ScriptedProvider(steps);
  const registry = new ProviderRegistry([provider, new MockEchoProvider()], prices);
  const sleeps: number[] = [];
  const client = new LlmClient(registry, prices, config, {
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    ...options,
  });
  return { client, provider, sleeps };
}

const req = (model = 'openai:gpt-4o-mini', signal?: AbortSignal) => ({
  model,
  messages: userMessage('hello world'),
  params: { temperature: 0 },
  callKey: 'run-1:0',
  signal,
});
const rateLimited = (retryAfterMs: number | null = null) =>
  new ProviderError('openai: 429', 'rate_limit', 429, retryAfterMs);
const serverError = () => new ProviderError('openai: 500', 'server_error', 500);

describe('LlmClient', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('returns the output with tokens, cost from the price table and attempts', async () => {
    const { client, provider, sleeps } = setup([{ output: 'hi', tokensIn: 1000, tokensOut: 2000 }]);
    const result = await client.complete(req());
    expect(result).toMatchObject({ output: 'hi', tokensIn: 1000, tokensOut: 2000, attempts: 1 });
    expect(result.cost).toBe((1000 * 0.15 + 2000 * 0.6) / 1e6);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(provider.calls).toEqual([
      { model: 'gpt-4o-mini', prompt: 'hello world', params: { temperature: 0 }, callKey: 'run-1:0' },
    ]);
    expect(sleeps).toEqual([]);
  });

  it('costs null for an unpriced model name', async () => {
    const { client } = setup([]);
    await expect(client.complete(req('openai:my-local-model'))).resolves.toMatchObject({ cost: null });
  });

  it('retries retryable errors with exponential full-jitter backoff', async () => {
    const { client, provider, sleeps } = setup([serverError(), rateLimited(), new ProviderError('t', 'timeout')]);
    const result = await client.complete(req());
    expect(result.attempts).toBe(4);
    expect(provider.calls).toHaveLength(4);
    // random 0.5 × min(1000, 100 × 2^(n-1)): 50, 100, 200
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('caps the backoff at retryMaxMs', () => {
    const { client } = setup([], {}, { random: () => 0.999 });
    expect(client.backoffMs(1, null)).toBe(99);
    expect(client.backoffMs(4, null)).toBe(799);
    expect(client.backoffMs(10, null)).toBe(999);
  });

  it('waits at least Retry-After', async () => {
    const { client, sleeps } = setup([rateLimited(3000), rateLimited(1)]);
    await expect(client.complete(req())).resolves.toMatchObject({ attempts: 3 });
    expect(sleeps).toEqual([3000, 100]);
  });

  it('throws a permanent error at once, without retrying', async () => {
    const { client, provider, sleeps } = setup([
      serverError(),
      new ProviderError('openai: 400 bad max_tokens', 'permanent', 400),
    ]);
    await expect(client.complete(req())).rejects.toMatchObject({
      kind: 'permanent',
      status: 400,
      message: 'openai: 400 bad max_tokens',
    });
    expect(provider.calls).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it('treats an unexpected adapter exception as permanent', async () => {
    const { client, provider } = setup([new TypeError('bug')]);
    await expect(client.complete(req())).rejects.toMatchObject({
      name: 'ProviderError',
      kind: 'permanent',
      message: expect.stringContaining('bug'),
    });
    expect(provider.calls).toHaveLength(1);
  });

  it('gives up after maxAttempts with the last error, saying how many attempts', async () => {
    const { client, provider, sleeps } = setup([serverError(), serverError(), serverError(), rateLimited(7)]);
    const err = await client.complete(req()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'rate_limit', status: 429, retryAfterMs: 7 });
    expect((err as Error).message).toContain('gave up after 4 attempts');
    expect(provider.calls).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it('fails an unknown model permanently without calling anything', async () => {
    const { client, provider } = setup([]);
    await expect(client.complete(req('mock:parrot'))).rejects.toMatchObject({ kind: 'permanent' });
    await expect(client.complete(req('nope:x'))).rejects.toMatchObject({ kind: 'permanent' });
    expect(provider.calls).toHaveLength(0);
  });

  it('times out a call that does not answer, aborting it, then retries', async () => {
    const { client, provider } = setup(['hang', { output: 'late', tokensIn: 1, tokensOut: 1 }], {
      PROVIDER_TIMEOUT_MS: '100',
    });
    const started = Date.now();
    await expect(client.complete(req())).resolves.toMatchObject({ output: 'late', attempts: 2 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(provider.calls).toHaveLength(2);
  });

  it('reports a timeout as a timeout even if the adapter ignores the signal', async () => {
    const hangs: Step[] = Array.from({ length: 2 }, () => 'hang');
    const ignoring = setup(hangs, { PROVIDER_TIMEOUT_MS: '100', PROVIDER_MAX_ATTEMPTS: '2' });
    ignoring.provider.complete = () => new Promise<never>(() => undefined);
    await expect(ignoring.client.complete(req())).rejects.toMatchObject({
      kind: 'timeout',
      message: expect.stringContaining('gave up after 2 attempts'),
    });
  });

  it('stops at once when the caller aborts, rejecting with its reason', async () => {
    const controller = new AbortController();
    const { client, provider } = setup(['hang']);
    const call = client.complete(req('openai:gpt-4o', controller.signal));
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error('run cancelled'));
    await expect(call).rejects.toThrow('run cancelled');
    expect(provider.calls).toHaveLength(1);
    expect(client.limiterFor('openai').active).toBe(0);
  });

  it('halves the provider limit on a rate limit and releases every slot', async () => {
    const { client } = setup([rateLimited()], { PROVIDER_CONCURRENCY: '8' });
    await client.complete(req());
    expect(client.limiterFor('openai').limit).toBe(4);
    expect(client.limiterFor('openai').active).toBe(0);
    expect(client.limiterFor('mock').limit).toBe(8);
  });

  it('runs mock:echo fault injection end to end: fails twice, then answers', async () => {
    const { client, sleeps } = setup([]);
    const result = await client.complete({
      model: 'mock:echo',
      messages: userMessage('a b c'),
      params: { mock_error: 'server_error', mock_error_times: 2 },
      callKey: 'r:0',
    });
    expect(result).toEqual({
      output: 'a b c',
      tokensIn: 3,
      tokensOut: 3,
      toolCalls: null,
      finishReason: 'stop',
      cost: 0,
      durationMs: expect.any(Number),
      callMs: expect.any(Number),
      attempts: 3,
    });
    expect(result.callMs).toBeLessThanOrEqual(result.durationMs);
    expect(sleeps).toHaveLength(2);
  });

  it('bounds how many calls of one provider run at once', async () => {
    let running = 0;
    let peak = 0;
    const { client, provider } = setup([], { PROVIDER_CONCURRENCY: '3' });
    provider.complete = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return answer({ output: 'x', tokensIn: 1, tokensOut: 1 });
    };
    await Promise.all(Array.from({ length: 12 }, () => client.complete(req())));
    expect(peak).toBe(3);
  });
});
