import { loadConfig } from '../config/configuration';
import { AnthropicProvider } from './anthropic.provider';
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
});
