import { Injectable } from '@nestjs/common';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { ModelPrice } from './llm.types';

/**
 * Built-in list prices in USD per million tokens (standard tier, short context, no caching or
 * batch discount; from the providers' pricing pages, November 2026), keyed by full
 * `provider:model` id. Models priced by tier or usage (e.g. claude-haiku-5-5 "from $0.10") are
 * left out rather than guessed. MODEL_PRICES (config.providers.priceOverrides) is merged over
 * it, so a price change or a self-hosted model never needs a release.
 */
export const BUILT_IN_PRICES: Readonly<Record<string, ModelPrice>> = {
  'openai:gpt-5.5': { input: 5, output: 30 },
  'openai:gpt-5.4': { input: 2.5, output: 15 },
  'openai:gpt-5.4-mini': { input: 0.75, output: 4.5 },
  'openai:gpt-5.4-nano': { input: 0.2, output: 1.25 },
  'openai:gpt-5.2': { input: 1.75, output: 14 },
  'openai:gpt-5.1': { input: 1.25, output: 10 },
  'openai:gpt-5': { input: 1.25, output: 10 },
  'openai:gpt-5-mini': { input: 0.25, output: 2 },
  'openai:gpt-5-nano': { input: 0.05, output: 0.4 },
  'openai:gpt-5-chat-latest': { input: 1.25, output: 10 },
  'openai:gpt-4.1': { input: 2, output: 8 },
  'openai:gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'openai:gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'openai:gpt-4o': { input: 2.5, output: 10 },
  'openai:gpt-4o-mini': { input: 0.15, output: 0.6 },
  'openai:o1': { input: 15, output: 60 },
  'openai:o3': { input: 2, output: 8 },
  'openai:o3-pro': { input: 20, output: 80 },
  'openai:o3-mini': { input: 1.1, output: 4.4 },
  'openai:o4-mini': { input: 1.1, output: 4.4 },
  'openai:gpt-4-turbo': { input: 10, output: 30 },
  'openai:gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'anthropic:claude-fable-5-1': { input: 10, output: 50 },
  'anthropic:claude-opus-5-5': { input: 4, output: 20 },
  'anthropic:claude-opus-5': { input: 5, output: 25 },
  'anthropic:claude-sonnet-5-5': { input: 2, output: 10 },
  'anthropic:claude-sonnet-5': { input: 2, output: 10 },
  'anthropic:claude-opus-4-8': { input: 5, output: 25 },
  'anthropic:claude-opus-4-7': { input: 5, output: 25 },
  'anthropic:claude-opus-4-6': { input: 5, output: 25 },
  'anthropic:claude-sonnet-4-6': { input: 3, output: 15 },
  'anthropic:claude-opus-4-5': { input: 5, output: 25 },
  'anthropic:claude-opus-4-1': { input: 15, output: 75 },
  'anthropic:claude-opus-4': { input: 15, output: 75 },
  'anthropic:claude-sonnet-4-5': { input: 3, output: 15 },
  'anthropic:claude-sonnet-4': { input: 3, output: 15 },
  'anthropic:claude-haiku-4-5': { input: 1, output: 5 },
  'anthropic:claude-3-7-sonnet': { input: 3, output: 15 },
  'anthropic:claude-3-5-sonnet': { input: 3, output: 15 },
  'anthropic:claude-3-5-haiku': { input: 0.8, output: 4 },
  'anthropic:claude-3-opus': { input: 15, output: 75 },
  'anthropic:claude-3-haiku': { input: 0.25, output: 1.25 },
  'mock:echo': { input: 0, output: 0 },
};

/**
 * Version suffixes that name a snapshot of a listed model: `-2024-07-18` (OpenAI), `-20241022`
 * (Anthropic), `-0613` (older OpenAI), `-latest`, `-0` (`claude-sonnet-4-0`).
 */
const VERSION_SUFFIX = /^(.+)-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest|0)$/;

/**
 * Prices per model. Lookup rule: the exact id first; otherwise, if the name ends in one version
 * suffix (see VERSION_SUFFIX), the id without it. Deliberately not a longest-prefix match: an
 * unlisted `openai:o3-deep-research` or `anthropic:claude-opus-4-9` must cost `null` (unknown),
 * not silently inherit the price of its listed prefix `o3` / `claude-opus-4`.
 */
@Injectable()
export class PriceTable {
  private readonly prices: ReadonlyMap<string, ModelPrice>;

  constructor(@InjectConfig() config: AppConfig) {
    this.prices = new Map(Object.entries({ ...BUILT_IN_PRICES, ...config.providers.priceOverrides }));
  }

  /** Every priced id (built-in and overrides), in table order. */
  entries(): Array<[string, ModelPrice]> {
    return [...this.prices.entries()];
  }

  priceOf(model: string): ModelPrice | null {
    const exact = this.prices.get(model);
    if (exact) return exact;
    const colon = model.indexOf(':');
    const versioned = VERSION_SUFFIX.exec(model.slice(colon + 1));
    if (colon <= 0 || !versioned) return null;
    return this.prices.get(`${model.slice(0, colon)}:${versioned[1]}`) ?? null;
  }

  /** USD for one call; `null` when the model has no known price (unknown is not free). */
  cost(model: string, tokensIn: number, tokensOut: number): number | null {
    const price = this.priceOf(model);
    if (!price) return null;
    // Multiply before dividing: 1000 × 2.5 / 1e6 is exactly 0.0025, 2.5 / 1e6 × 1000 is not.
    return (tokensIn * price.input + tokensOut * price.output) / 1e6;
  }
}
