import { Logger } from '@nestjs/common';
import request from 'supertest';
import { loadConfig } from '../src/config/configuration';
import { AnthropicProvider } from '../src/providers/anthropic.provider';
import { LlmClient } from '../src/providers/llm-client';
import { type ChatMessage, type CompletionRequest, ProviderError, userMessage } from '../src/providers/llm.types';
import { MockEchoProvider } from '../src/providers/mock-echo.provider';
import { OpenAiProvider } from '../src/providers/openai.provider';
import { PriceTable } from '../src/providers/price-table';
import { ProviderRegistry } from '../src/providers/provider-registry';
import { createTestApp, type TestApp } from './support/app';
import { bearer, registerUser } from './support/factories';
import { type FakeLlmServer, startFakeLlmServer } from './support/fake-llm-server';

/** The real adapters and client over real HTTP against the fake server (no Nest app, no database). */
describe('providers over HTTP (fake OpenAI / Anthropic server)', () => {
  let server: FakeLlmServer;
  const sleeps: number[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(false);
    server = await startFakeLlmServer();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.reset();
    sleeps.length = 0;
  });

  function client(env: Record<string, string> = {}) {
    const config = loadConfig({
      OPENAI_BASE_URL: server.url,
      OPENAI_API_KEY: 'sk-test-openai',
      ANTHROPIC_BASE_URL: server.anthropicUrl,
      ANTHROPIC_API_KEY: 'sk-test-anthropic',
      PROVIDER_TIMEOUT_MS: '2000',
      PROVIDER_MAX_ATTEMPTS: '3',
      PROVIDER_RETRY_BASE_MS: '1',
      PROVIDER_RETRY_MAX_MS: '5',
      ...env,
    });
    const prices = new PriceTable(config);
    const registry = new ProviderRegistry(
      [new OpenAiProvider(config), new AnthropicProvider(config), new MockEchoProvider()],
      prices,
    );
    // Real sleeps (the waits are a few ms), recorded so Retry-After handling can be asserted.
    return new LlmClient(registry, prices, config, {
      sleep: (ms) => {
        sleeps.push(ms);
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
  }

  const call = (
    model: string,
    prompt: string | ChatMessage[],
    params: CompletionRequest['params'] = {},
  ): CompletionRequest => ({
    model,
    messages: typeof prompt === 'string' ? userMessage(prompt) : prompt,
    params,
    callKey: 'run-1:0',
  });

  describe('OpenAI Chat Completions', () => {
    it('sends the rendered prompt as one user message and prices the usage', async () => {
      server.enqueue({ output: 'A short summary.', usage: { input: 1200, output: 300 } });
      const result = await client().complete(call('openai:gpt-4o-mini', 'Summarise: the printer is on fire'));
      expect(result).toMatchObject({ output: 'A short summary.', tokensIn: 1200, tokensOut: 300, attempts: 1 });
      expect(result.cost).toBe((1200 * 0.15 + 300 * 0.6) / 1e6);
      expect(server.requests).toHaveLength(1);
      const [seen] = server.requests;
      expect(seen).toMatchObject({ api: 'openai', path: '/v1/chat/completions', model: 'gpt-4o-mini' });
      expect(seen.body.messages).toEqual([{ role: 'user', content: 'Summarise: the printer is on fire' }]);
      expect(seen.headers.authorization).toBe('Bearer sk-test-openai');
    });

    it('passes params through and never sends mock_* params', async () => {
      const params = {
        temperature: 0.7,
        max_tokens: 64,
        top_p: 0.9,
        seed: 42,
        stop: 'END',
        mock_error: 'timeout',
        mock_latency_ms: 5,
      };
      const result = await client().complete(call('openai:gpt-4.1', 'hi there', params));
      expect(result.output).toBe('echo: hi there');
      expect(result.tokensIn).toBe(2);
      const { body } = server.requests[0];
      expect(body).toMatchObject({
        temperature: 0.7,
        max_tokens: 64,
        top_p: 0.9,
        seed: 42,
        stop: 'END',
        stream: false,
      });
      expect(Object.keys(body).filter((k) => k.startsWith('mock_'))).toEqual([]);
    });

    it('costs null for a model without a price (a self-hosted one)', async () => {
      await expect(client().complete(call('openai:llama3:8b', 'x'))).resolves.toMatchObject({
        output: 'echo: x',
        cost: null,
      });
      expect(server.requests[0].model).toBe('llama3:8b');
    });

    it('retries a 429, waiting at least its Retry-After, then succeeds', async () => {
      server.enqueue({ status: 429, headers: { 'retry-after': '0.05' } });
      const result = await client().complete(call('openai:gpt-4o', 'again'));
      expect(result).toMatchObject({ output: 'echo: again', attempts: 2 });
      expect(server.requests).toHaveLength(2);
      expect(sleeps).toEqual([50]);
      expect(result.durationMs).toBeGreaterThanOrEqual(50);
    });

    it('honours retry-after-ms too', async () => {
      server.enqueue({ status: 429, headers: { 'retry-after-ms': '30' } });
      await expect(client().complete(call('openai:gpt-4o', 'x'))).resolves.toMatchObject({ attempts: 2 });
      expect(sleeps).toEqual([30]);
    });

    it('retries 500s and gives up after maxAttempts with the last error', async () => {
      server.enqueue({ status: 500 }, { status: 503 }, { status: 502 });
      const err = await client()
        .complete(call('openai:gpt-4o', 'x'))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ kind: 'server_error', status: 502 });
      expect((err as Error).message).toContain('gave up after 3 attempts');
      expect(server.requests).toHaveLength(3);
    });

    it('retries a 500 then succeeds', async () => {
      server.enqueue({ status: 500 });
      await expect(client().complete(call('openai:gpt-4o', 'x'))).resolves.toMatchObject({
        output: 'echo: x',
        attempts: 2,
      });
    });

    it('fails a 400 at once with the reason, after exactly one request', async () => {
      server.enqueue({
        status: 400,
        body: {
          error: {
            message: "Unsupported parameter: 'max_tokens'",
            type: 'invalid_request_error',
            param: 'max_tokens',
            code: null,
          },
        },
      });
      const err = await client()
        .complete(call('openai:o3', 'x', { max_tokens: 10 }))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'permanent', status: 400 });
      expect((err as Error).message).toContain("Unsupported parameter: 'max_tokens'");
      expect(server.requests).toHaveLength(1);
    });

    it('fails a 401 at once', async () => {
      server.enqueue({ status: 401 });
      await expect(client().complete(call('openai:gpt-4o', 'x'))).rejects.toMatchObject({
        kind: 'permanent',
        status: 401,
      });
      expect(server.requests).toHaveLength(1);
    });

    it('times out a slow answer, then retries', async () => {
      server.enqueue({ delayMs: 1500 });
      const started = Date.now();
      const result = await client({ PROVIDER_TIMEOUT_MS: '200' }).complete(call('openai:gpt-4o', 'slow'));
      expect(result).toMatchObject({ output: 'echo: slow', attempts: 2 });
      expect(Date.now() - started).toBeLessThan(1500);
      expect(server.requests).toHaveLength(2);
    });

    it('reports a timeout when every attempt is too slow', async () => {
      server.enqueue({ delayMs: 1000 }, { delayMs: 1000 });
      const err = await client({ PROVIDER_TIMEOUT_MS: '150', PROVIDER_MAX_ATTEMPTS: '2' })
        .complete(call('openai:gpt-4o', 'slow'))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'timeout' });
      expect((err as Error).message).toContain('gave up after 2 attempts');
    });

    it('maps a refused connection to a retryable timeout', async () => {
      const dead = await startFakeLlmServer();
      const url = dead.url;
      await dead.close();
      const err = await client({ OPENAI_BASE_URL: url, PROVIDER_MAX_ATTEMPTS: '2' })
        .complete(call('openai:gpt-4o', 'x'))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'timeout', message: expect.stringContaining('gave up after 2 attempts') });
    });
  });

  describe('Anthropic Messages', () => {
    it('sends the prompt with a default max_tokens and prices input/output tokens', async () => {
      server.enqueue({ output: 'Claude says hi', usage: { input: 2000, output: 500 } });
      const result = await client().complete(call('anthropic:claude-sonnet-4-20250514', 'Say hi'));
      expect(result).toMatchObject({ output: 'Claude says hi', tokensIn: 2000, tokensOut: 500, attempts: 1 });
      expect(result.cost).toBe((2000 * 3 + 500 * 15) / 1e6);
      const [seen] = server.requests;
      expect(seen).toMatchObject({ api: 'anthropic', path: '/v1/messages', model: 'claude-sonnet-4-20250514' });
      expect(seen.body).toMatchObject({ max_tokens: 1024, messages: [{ role: 'user', content: 'Say hi' }] });
      // The SDK version decides the header (x-api-key or a bearer token); the key must be in one.
      expect([seen.headers['x-api-key'], seen.headers.authorization].join(' ')).toContain('sk-test-anthropic');
    });

    it('passes params, translates stop, never sends mock_*', async () => {
      await client().complete(
        call('anthropic:claude-3-5-haiku', 'x', { temperature: 0, max_tokens: 50, stop: '###', mock_error_times: 3 }),
      );
      const { body } = server.requests[0];
      expect(body).toMatchObject({ temperature: 0, max_tokens: 50, stop_sequences: ['###'] });
      expect(body).not.toHaveProperty('stop');
      expect(body).not.toHaveProperty('mock_error_times');
    });

    it('refuses seed (no Anthropic equivalent) permanently, without sending anything', async () => {
      const err = await client()
        .complete(call('anthropic:claude-3-5-haiku', 'x', { seed: 7 }))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'permanent', message: expect.stringContaining('params.seed') });
      expect(server.requests).toHaveLength(0);
    });

    it('retries 429 and 529 (overloaded), then succeeds', async () => {
      server.enqueue({ status: 429, headers: { 'retry-after': '0' } }, { status: 529 });
      const result = await client().complete(call('anthropic:claude-haiku-4-5', 'x'));
      expect(result).toMatchObject({ output: 'echo: x', attempts: 3 });
      expect(server.requests).toHaveLength(3);
    });

    it('fails a 400 at once with the reason', async () => {
      server.enqueue({
        status: 400,
        body: { type: 'error', error: { type: 'invalid_request_error', message: 'temperature: range is 0..1' } },
      });
      const err = await client()
        .complete(call('anthropic:claude-opus-4-1', 'x', { temperature: 2 }))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'permanent', status: 400 });
      expect((err as Error).message).toContain('temperature: range is 0..1');
      expect(server.requests).toHaveLength(1);
    });
  });

  describe('chat messages, tools and structured output over HTTP', () => {
    const weatherTool = {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Current weather of a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    };
    const fewShot: ChatMessage[] = [
      { role: 'system', content: 'You are a weather bot.' },
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'get_weather', arguments: { city: 'Oslo' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"temp": -3}' },
      { role: 'assistant', content: 'It is -3 °C in Oslo.' },
      { role: 'user', content: 'Weather in Paris?' },
    ];
    const schemaFormat = {
      type: 'json_schema',
      json_schema: {
        name: 'answer',
        strict: true,
        schema: {
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
          additionalProperties: false,
        },
      },
    };

    it('OpenAI: sends every message, tools, tool_choice, response_format, seed and stop exactly', async () => {
      const params = {
        tools: [weatherTool],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        response_format: schemaFormat,
        seed: 42,
        stop: ['END', '###'],
        temperature: 0,
      };
      await client().complete(call('openai:gpt-4o-mini', fewShot, params));
      const { body } = server.requests[0];
      expect(body.messages).toEqual([
        { role: 'system', content: 'You are a weather bot.' },
        { role: 'user', content: 'Weather in Oslo?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: '{"temp": -3}' },
        { role: 'assistant', content: 'It is -3 °C in Oslo.' },
        { role: 'user', content: 'Weather in Paris?' },
      ]);
      expect(body.tools).toEqual(params.tools);
      expect(body.tool_choice).toEqual(params.tool_choice);
      expect(body.response_format).toEqual(schemaFormat);
      expect(body).toMatchObject({ seed: 42, stop: ['END', '###'], temperature: 0, stream: false });
    });

    it('OpenAI: reads tool calls (arguments parsed, non-JSON kept as text) and finish_reason back', async () => {
      server.enqueue({
        output: '',
        toolCalls: [
          { id: 'call_a', name: 'get_weather', arguments: { city: 'Paris' } },
          { id: 'call_b', name: 'broken', rawArguments: '{city: Paris' },
        ],
      });
      const result = await client().complete(call('openai:gpt-4o-mini', 'Weather in Paris?', { tools: [weatherTool] }));
      expect(result).toMatchObject({
        output: '',
        finishReason: 'tool_calls',
        toolCalls: [
          { id: 'call_a', name: 'get_weather', arguments: { city: 'Paris' } },
          { id: 'call_b', name: 'broken', arguments: '{city: Paris' },
        ],
      });
      server.enqueue({ output: 'cut', finishReason: 'length' });
      await expect(client().complete(call('openai:gpt-4o-mini', 'x'))).resolves.toMatchObject({
        finishReason: 'length',
        toolCalls: null,
      });
    });

    it('Anthropic: system → system, tools → input_schema, tool turns → tool_use / tool_result blocks', async () => {
      const params = {
        tools: [weatherTool],
        tool_choice: 'required',
        parallel_tool_calls: false,
        response_format: schemaFormat,
        stop: ['END'],
        max_tokens: 99,
      };
      await client().complete(call('anthropic:claude-sonnet-4-5', fewShot, params));
      const { body } = server.requests[0];
      expect(body.system).toBe('You are a weather bot.');
      expect(body.messages).toEqual([
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'c1', name: 'get_weather', input: { city: 'Oslo' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1', content: '{"temp": -3}' }] },
        { role: 'assistant', content: 'It is -3 °C in Oslo.' },
        { role: 'user', content: 'Weather in Paris?' },
      ]);
      expect(body.tools).toEqual([
        {
          name: 'get_weather',
          description: 'Current weather of a city',
          input_schema: weatherTool.function.parameters,
        },
      ]);
      expect(body.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
      expect(body.output_config).toEqual({ format: { type: 'json_schema', schema: schemaFormat.json_schema.schema } });
      expect(body).toMatchObject({ stop_sequences: ['END'], max_tokens: 99 });
      for (const key of ['stop', 'response_format', 'parallel_tool_calls']) expect(body).not.toHaveProperty(key);
    });

    it('Anthropic: tool_use blocks come back as tool calls, stop_reason as finish_reason', async () => {
      server.enqueue({
        output: 'Let me check.',
        toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: { city: 'Paris' } }],
      });
      const result = await client().complete(
        call('anthropic:claude-haiku-4-5', 'Weather in Paris?', {
          tools: [weatherTool],
          tool_choice: { type: 'function', function: { name: 'get_weather' } },
        }),
      );
      expect(server.requests[0].body.tool_choice).toEqual({ type: 'tool', name: 'get_weather' });
      expect(result).toMatchObject({
        output: 'Let me check.',
        finishReason: 'tool_calls',
        toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: { city: 'Paris' } }],
      });
      server.enqueue({ output: 'cut', finishReason: 'max_tokens' });
      await expect(client().complete(call('anthropic:claude-haiku-4-5', 'x'))).resolves.toMatchObject({
        finishReason: 'length',
        toolCalls: null,
      });
    });
  });

  describe('fake server scripting', () => {
    it('computes answers with a responder (what judge tests use)', async () => {
      server.setResponder((req) =>
        req.prompt.includes('judge') ? { output: '{"score": 4}', usage: { input: 10, output: 3 } } : undefined,
      );
      await expect(client().complete(call('openai:gpt-4o-mini', 'judge this'))).resolves.toMatchObject({
        output: '{"score": 4}',
        tokensOut: 3,
      });
      await expect(client().complete(call('anthropic:claude-3-5-haiku', 'plain'))).resolves.toMatchObject({
        output: 'echo: plain',
      });
    });
  });
});

describe('GET /api/models and ProvidersModule wiring (app)', () => {
  let t: TestApp;
  let fake: FakeLlmServer;

  beforeAll(async () => {
    fake = await startFakeLlmServer();
    t = await createTestApp({
      env: {
        OPENAI_BASE_URL: fake.url,
        MODEL_PRICES: JSON.stringify({ 'openai:my-llama': { input: 0.1, output: 0.2 } }),
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await fake.close();
  });

  it('needs a token', async () => {
    const res = await request(t.http).get('/api/models');
    expect(res.status).toBe(401);
  });

  it('lists priced models with their prices per million tokens, overrides included', async () => {
    const user = await registerUser(t.http);
    const res = await request(t.http).get('/api/models').set(bearer(user.token));
    expect(res.status).toBe(200);
    expect(res.body.items).toContainEqual({
      id: 'openai:gpt-4o-mini',
      provider: 'openai',
      input_price_per_mtok: 0.15,
      output_price_per_mtok: 0.6,
    });
    expect(res.body.items).toContainEqual({
      id: 'anthropic:claude-haiku-4-5',
      provider: 'anthropic',
      input_price_per_mtok: 1,
      output_price_per_mtok: 5,
    });
    expect(res.body.items).toContainEqual({
      id: 'mock:echo',
      provider: 'mock',
      input_price_per_mtok: 0,
      output_price_per_mtok: 0,
    });
    expect(res.body.items).toContainEqual({
      id: 'openai:my-llama',
      provider: 'openai',
      input_price_per_mtok: 0.1,
      output_price_per_mtok: 0.2,
    });
  });

  it('documents the route in OpenAPI with its tag, bearer auth and item schema', async () => {
    const res = await request(t.http).get('/docs-json');
    expect(res.status).toBe(200);
    const op = res.body.paths['/api/models'].get;
    expect(op.tags).toEqual(['models']);
    expect(op.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(res.body.components.schemas.ModelDto.properties).sort()).toEqual([
      'id',
      'input_price_per_mtok',
      'output_price_per_mtok',
      'provider',
    ]);
  });

  it('injects an LlmClient that reaches the configured OpenAI base URL', async () => {
    const result = await t.app
      .get(LlmClient)
      .complete({ model: 'openai:my-llama', messages: userMessage('one two three'), params: {}, callKey: 'wiring' });
    expect(result).toMatchObject({ output: 'echo: one two three', tokensIn: 3, tokensOut: 4, attempts: 1 });
    expect(result.cost).toBe((3 * 0.1 + 4 * 0.2) / 1e6);
    expect(fake.requests.map((r) => r.model)).toEqual(['my-llama']);
  });
});
