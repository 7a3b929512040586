import { Inject, Injectable } from '@nestjs/common';
import { invalid } from '../common/domain-error';
import { LlmProvider, ProviderCall, ProviderError } from './llm.types';
import { PriceTable } from './price-table';

/** The adapters the registry starts with (ProvidersModule binds openai, anthropic and mock). */
export const LLM_PROVIDERS = Symbol('LLM_PROVIDERS');

export interface ModelInfo {
  id: string;
  provider: string;
  input_price_per_mtok: number;
  output_price_per_mtok: number;
}

/** Finds the adapter for a `provider:model` id and says whether an id can be run at all. */
@Injectable()
export class ProviderRegistry {
  private readonly byPrefix = new Map<string, LlmProvider>();

  constructor(
    @Inject(LLM_PROVIDERS) providers: LlmProvider[],
    private readonly prices: PriceTable,
  ) {
    for (const provider of providers) this.register(provider);
  }

  /** Adds or replaces the adapter for its prefix (tests use this to plug in a fake). */
  register(provider: LlmProvider): void {
    this.byPrefix.set(provider.prefix, provider);
  }

  prefixes(): string[] {
    return [...this.byPrefix.keys()];
  }

  /** Null when the id is runnable, else a message fit for a 400 (names the id and what is accepted). */
  validateModel(model: string): string | null {
    const colon = typeof model === 'string' ? model.indexOf(':') : -1;
    const known = this.prefixes().join(', ');
    if (colon <= 0 || colon === model.length - 1) {
      return `Invalid model "${model}": expected "provider:model" with provider one of ${known}`;
    }
    const prefix = model.slice(0, colon);
    const name = model.slice(colon + 1);
    const provider = this.byPrefix.get(prefix);
    if (!provider) return `Unknown provider "${prefix}" in model "${model}": expected one of ${known}`;
    if (provider.models && !provider.models.includes(name)) {
      return `Unknown model "${model}": ${prefix} offers ${provider.models.map((m) => `${prefix}:${m}`).join(', ')}`;
    }
    return null;
  }

  isKnownModel(model: string): boolean {
    return this.validateModel(model) === null;
  }

  /** The adapter and the name to pass it; a permanent ProviderError for an id validateModel rejects. */
  resolve(model: string): { provider: LlmProvider; name: string } {
    const error = this.validateModel(model);
    if (error) throw new ProviderError(error, 'permanent');
    const colon = model.indexOf(':');
    return { provider: this.byPrefix.get(model.slice(0, colon))!, name: model.slice(colon + 1) };
  }

  /**
   * What of a call the model's provider cannot honour, each message naming the model and the field
   * (`model "anthropic:claude-x" cannot honour params.seed: …`), the field prefixed with `at` (e.g.
   * `config.`). [] for an id validateModel rejects: that has its own message.
   */
  unsupportedFields(model: string, call: ProviderCall, at = ''): string[] {
    if (this.validateModel(model) !== null) return [];
    const { provider, name } = this.resolve(model);
    return provider
      .unsupportedFields(name, call)
      .map(({ field, reason }) => `model "${model}" cannot honour ${at}${field}: ${reason}`);
  }

  /**
   * Null when runs of this model can reach their provider; else a message for a 400 that names what
   * to set. The one place credentials are judged before a run exists (project connections, once they
   * exist, are looked up here too: hence the project).
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- async for the per-project lookups to come
  async credentialProblem(model: string, _projectId: string): Promise<string | null> {
    if (this.validateModel(model) !== null) return null;
    const missing = this.resolve(model).provider.missingCredentials();
    return missing === null ? null : `model "${model}" has no usable credentials: set ${missing}`;
  }

  /** Throws a 400 naming what to set when a model's provider has no usable credentials. */
  async assertUsable(models: readonly string[], projectId: string): Promise<void> {
    const problems: string[] = [];
    for (const model of new Set(models)) {
      const problem = await this.credentialProblem(model, projectId);
      if (problem) problems.push(problem);
    }
    if (problems.length > 0) throw invalid(problems);
  }

  /** Priced models of the registered providers (GET /api/models). Other names still run, at cost null. */
  listModels(): ModelInfo[] {
    return this.prices
      .entries()
      .filter(([id]) => this.isKnownModel(id))
      .map(([id, price]) => ({
        id,
        provider: id.slice(0, id.indexOf(':')),
        input_price_per_mtok: price.input,
        output_price_per_mtok: price.output,
      }));
  }
}
