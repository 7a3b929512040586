import { loadConfig } from '../config/configuration';
import { PriceTable } from './price-table';

const table = (env: Record<string, string> = {}) => new PriceTable(loadConfig(env));

describe('PriceTable', () => {
  it('prices listed models per million tokens', () => {
    expect(table().priceOf('openai:gpt-4o-mini')).toEqual({ input: 0.15, output: 0.6 });
    expect(table().priceOf('anthropic:claude-sonnet-4-5')).toEqual({ input: 3, output: 15 });
    expect(table().priceOf('mock:echo')).toEqual({ input: 0, output: 0 });
  });

  it('computes cost as (in × input + out × output) / 1e6, exactly', () => {
    expect(table().cost('openai:gpt-4o', 1000, 0)).toBe(0.0025);
    expect(table().cost('openai:gpt-4o-mini', 1_000_000, 1_000_000)).toBe(0.75);
    expect(table().cost('openai:gpt-4.1', 1234, 567)).toBe((1234 * 2 + 567 * 8) / 1e6);
    expect(table().cost('anthropic:claude-3-5-haiku', 10, 20)).toBe(0.000088);
    expect(table().cost('mock:echo', 500, 500)).toBe(0);
  });

  it('gives null, not 0, for an unknown model', () => {
    expect(table().priceOf('openai:my-local-llama')).toBeNull();
    expect(table().cost('openai:my-local-llama', 10, 10)).toBeNull();
    expect(table().cost('nope', 10, 10)).toBeNull();
  });

  it('accepts dated snapshots and -latest of a listed id', () => {
    const t = table();
    expect(t.priceOf('openai:gpt-4o-mini-2024-07-18')).toEqual(t.priceOf('openai:gpt-4o-mini'));
    expect(t.priceOf('openai:gpt-4.1-nano-2025-04-14')).toEqual({ input: 0.1, output: 0.4 });
    expect(t.priceOf('anthropic:claude-3-5-sonnet-20241022')).toEqual({ input: 3, output: 15 });
    expect(t.priceOf('anthropic:claude-opus-4-1-20250805')).toEqual({ input: 15, output: 75 });
    expect(t.priceOf('anthropic:claude-haiku-4-5-20251001')).toEqual({ input: 1, output: 5 });
    expect(t.priceOf('anthropic:claude-3-5-haiku-latest')).toEqual({ input: 0.8, output: 4 });
    expect(t.priceOf('anthropic:claude-sonnet-4-0')).toEqual({ input: 3, output: 15 });
  });

  it('does not hand an unlisted sibling the price of its prefix', () => {
    const t = table();
    expect(t.priceOf('openai:o3-deep-research')).toBeNull();
    expect(t.priceOf('anthropic:claude-opus-4-9')).toBeNull();
    expect(t.priceOf('openai:gpt-5.4-pro')).toBeNull();
    expect(t.priceOf('openai:gpt-4o-audio-preview')).toBeNull();
    expect(t.priceOf('mock:echo-2024-01-01')).toEqual({ input: 0, output: 0 });
  });

  it('merges MODEL_PRICES over the built-in table', () => {
    const t = table({
      MODEL_PRICES: JSON.stringify({
        'openai:gpt-4o': { input: 1, output: 2 },
        'openai:llama-3-70b': { input: 0.5, output: 0.5 },
      }),
    });
    expect(t.priceOf('openai:gpt-4o')).toEqual({ input: 1, output: 2 });
    expect(t.priceOf('openai:gpt-4o-2024-08-06')).toEqual({ input: 1, output: 2 });
    expect(t.cost('openai:llama-3-70b', 2_000_000, 0)).toBe(1);
    expect(t.priceOf('openai:gpt-4o-mini')).toEqual({ input: 0.15, output: 0.6 });
  });
});
