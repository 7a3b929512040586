import { DomainError, ErrorCode } from '../common/domain-error';
import { loadConfig } from '../config/configuration';
import { AnthropicProvider } from './anthropic.provider';
import { userMessage } from './llm.types';
import { MockEchoProvider } from './mock-echo.provider';
import { OpenAiProvider } from './openai.provider';
import { PriceTable } from './price-table';
import { ProviderRegistry } from './provider-registry';

function registry(env: Record<string, string> = {}) {
  const config = loadConfig(env);
  return new ProviderRegistry(
    [new OpenAiProvider(config), new AnthropicProvider(config), new MockEchoProvider()],
    new PriceTable(config),
  );
}

describe('ProviderRegistry', () => {
  it('resolves an id to its adapter and the name after the prefix', () => {
    const r = registry();
    const { provider, name } = r.resolve('openai:gpt-4o-mini');
    expect(provider).toBeInstanceOf(OpenAiProvider);
    expect(name).toBe('gpt-4o-mini');
    expect(r.resolve('anthropic:claude-sonnet-4-5-20250929').provider).toBeInstanceOf(AnthropicProvider);
    // Only the first colon separates: model names may contain colons (Ollama tags).
    expect(r.resolve('openai:llama3:8b').name).toBe('llama3:8b');
  });

  it.each(['openai:gpt-4o', 'openai:any-self-hosted-model', 'anthropic:claude-x', 'mock:echo'])('knows %s', (id) => {
    expect(registry().isKnownModel(id)).toBe(true);
    expect(registry().validateModel(id)).toBeNull();
  });

  it.each([
    ['gpt-4o', 'expected "provider:model"'],
    [':gpt-4o', 'expected "provider:model"'],
    ['openai:', 'expected "provider:model"'],
    ['cohere:command', 'Unknown provider "cohere"'],
    ['mock:parrot', 'mock offers mock:echo'],
    ['mock:Echo', 'mock offers mock:echo'],
  ])('rejects %s', (id, message) => {
    expect(registry().isKnownModel(id)).toBe(false);
    expect(registry().validateModel(id)).toContain(message);
    expect(() => registry().resolve(id)).toThrow(expect.objectContaining({ kind: 'permanent' }));
  });

  it('lists the priced models of registered providers, overrides included', () => {
    const models = registry({
      MODEL_PRICES: JSON.stringify({
        'openai:llama-3': { input: 0.2, output: 0.3 },
        'groq:x': { input: 1, output: 1 },
      }),
    }).listModels();
    expect(models).toContainEqual({
      id: 'openai:gpt-4o-mini',
      provider: 'openai',
      input_price_per_mtok: 0.15,
      output_price_per_mtok: 0.6,
    });
    expect(models).toContainEqual({
      id: 'anthropic:claude-3-5-haiku',
      provider: 'anthropic',
      input_price_per_mtok: 0.8,
      output_price_per_mtok: 4,
    });
    expect(models).toContainEqual({
      id: 'mock:echo',
      provider: 'mock',
      input_price_per_mtok: 0,
      output_price_per_mtok: 0,
    });
    expect(models).toContainEqual({
      id: 'openai:llama-3',
      provider: 'openai',
      input_price_per_mtok: 0.2,
      output_price_per_mtok: 0.3,
    });
    expect(models.map((m) => m.id)).not.toContain('groq:x');
    expect(new Set(models.map((m) => m.id)).size).toBe(models.length);
  });

  it('names the model and the field a provider cannot honour', () => {
    const call = { messages: userMessage('x'), params: { seed: 1, temperature: 0 } };
    expect(registry().unsupportedFields('anthropic:claude-x', call, 'config.')).toEqual([
      expect.stringMatching(/^model "anthropic:claude-x" cannot honour config\.params\.seed: /),
    ]);
    expect(registry().unsupportedFields('openai:gpt-4o', call)).toEqual([]);
    expect(registry().unsupportedFields('mock:echo', call)).toEqual([]);
    // An id that cannot run at all has its own message (validateModel), not this one.
    expect(registry().unsupportedFields('nope:x', call)).toEqual([]);
  });

  describe('credentials', () => {
    it('needs a key, or a base URL of ones own, per provider; mock needs none', async () => {
      const none = registry();
      await expect(none.credentialProblem('mock:echo', 'p')).resolves.toBeNull();
      await expect(none.credentialProblem('openai:gpt-4o', 'p')).resolves.toBe(
        'model "openai:gpt-4o" has no usable credentials: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible server that needs no key)',
      );
      await expect(none.credentialProblem('anthropic:claude-x', 'p')).resolves.toContain('set ANTHROPIC_API_KEY');
      const keyed = registry({ OPENAI_API_KEY: 'sk-1', ANTHROPIC_API_KEY: 'sk-2' });
      await expect(keyed.credentialProblem('openai:gpt-4o', 'p')).resolves.toBeNull();
      await expect(keyed.credentialProblem('anthropic:claude-x', 'p')).resolves.toBeNull();
      const local = registry({ OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1', ANTHROPIC_BASE_URL: 'http://proxy:4000' });
      await expect(local.credentialProblem('openai:llama3', 'p')).resolves.toBeNull();
      await expect(local.credentialProblem('anthropic:claude-x', 'p')).resolves.toBeNull();
      // The public endpoints, named explicitly, still need a key.
      const publicUrls = registry({
        OPENAI_BASE_URL: 'https://api.openai.com/v1',
        ANTHROPIC_BASE_URL: 'https://api.anthropic.com',
      });
      await expect(publicUrls.credentialProblem('openai:gpt-4o', 'p')).resolves.not.toBeNull();
      await expect(publicUrls.credentialProblem('anthropic:claude-x', 'p')).resolves.not.toBeNull();
    });

    it('assertUsable throws one 400 listing every model without credentials', async () => {
      const err = await registry({ ANTHROPIC_API_KEY: 'k' })
        .assertUsable(['mock:echo', 'openai:a', 'openai:a', 'openai:b', 'anthropic:c'], 'p')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DomainError);
      expect(err).toMatchObject({ code: ErrorCode.Invalid });
      expect((err as DomainError).messages).toEqual([
        expect.stringContaining('"openai:a"'),
        expect.stringContaining('"openai:b"'),
      ]);
      await expect(registry().assertUsable(['mock:echo'], 'p')).resolves.toBeUndefined();
    });
  });
});
