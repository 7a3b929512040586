import { Injectable } from '@nestjs/common';
import { ConnectionKind } from '../connections/connection.entity';
import {
  type ConnectionSummary,
  ConnectionResolver,
  type ResolvedConnection,
} from '../connections/connection-resolver';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { UrlPolicy } from '../security/url-policy';
import { AnthropicProvider } from './anthropic.provider';
import { type LlmProvider, type ModelPrice, type ProviderCall, type UnsupportedField } from './llm.types';
import { OpenAiProvider } from './openai.provider';
import { PriceTable } from './price-table';
import { ProviderRegistry } from './provider-registry';

/** A model id resolved for one project: the adapter, its price and the limits its calls obey. */
export interface ResolvedModel {
  provider: LlmProvider;
  /** The model name after the prefix. */
  name: string;
  price: ModelPrice | null;
  /** Who the limits belong to: `conn:<id>` for a connection, `instance:<prefix>` otherwise. */
  limitKey: string;
  maxConcurrency: number | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
}

/** Checks model ids against one project's connections and the instance providers (synchronous once built). */
export interface ProjectModelChecker {
  /** Null when the id can run in the project, else a message fit for a 400. */
  validate: (model: string) => string | null;
  /** The price of a valid id, or null when unknown. */
  price: (model: string) => ModelPrice | null;
  /**
   * What of a call the model's adapter cannot honour (`params.seed`, `messages[2]`), for a 400 at
   * creation; [] for an id `validate` rejects (that has its own message). Contents may be templates.
   */
  unsupported: (model: string, call: ProviderCall) => UnsupportedField[];
  /** Null when the model's provider has usable credentials in the project, else what to set. */
  credentials: (model: string) => string | null;
}

function split(model: string): { prefix: string; name: string } | null {
  const colon = typeof model === 'string' ? model.indexOf(':') : -1;
  if (colon <= 0 || colon === model.length - 1) return null;
  return { prefix: model.slice(0, colon), name: model.slice(colon + 1) };
}

/**
 * Resolves `prefix:model` per project: a project connection of that name first (it may shadow
 * `openai`/`anthropic` for its project), then the instance-wide providers. A client is built per
 * connection and cached until the connection changes (its `version`), so a PATCHed key applies to
 * every call that starts afterwards. Connection clients fetch through the SSRF policy.
 */
@Injectable()
export class ProjectModels {
  private readonly clients = new Map<string, { version: string; provider: LlmProvider }>();

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly prices: PriceTable,
    private readonly connections: ConnectionResolver,
    private readonly urls: UrlPolicy,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Run time: the adapter for `model` in `projectId`; a permanent ProviderError when it cannot run. */
  async resolve(projectId: string, model: string): Promise<ResolvedModel> {
    const parts = split(model);
    const connection = parts ? await this.connections.resolve(projectId, parts.prefix) : null;
    if (!connection || !parts) {
      const { provider, name } = this.registry.resolve(model);
      const limits = this.config.providers.rateLimits?.[provider.prefix];
      return {
        provider,
        name,
        price: this.prices.priceOf(model),
        limitKey: `instance:${provider.prefix}`,
        maxConcurrency: null,
        rpmLimit: limits?.rpm ?? null,
        tpmLimit: limits?.tpm ?? null,
      };
    }
    return {
      provider: this.clientFor(connection),
      name: parts.name,
      price: connection.prices[parts.name] ?? this.prices.priceOf(model),
      limitKey: `conn:${connection.id}`,
      maxConcurrency: connection.maxConcurrency,
      rpmLimit: connection.rpmLimit,
      tpmLimit: connection.tpmLimit,
    };
  }

  /** Creation time: a checker that knows the project's connections (one query). */
  async checker(projectId: string | null): Promise<ProjectModelChecker> {
    const summaries = projectId ? await this.connections.summaries(projectId) : [];
    const byName = new Map<string, ConnectionSummary>(summaries.map((s) => [s.name, s]));
    return {
      validate: (model) => {
        const parts = split(model);
        if (parts && byName.has(parts.prefix)) return null;
        const error = this.registry.validateModel(model);
        // A known instance prefix keeps the registry's own message (e.g. mock's closed model list).
        if (!error || !parts || this.registry.prefixes().includes(parts.prefix)) return error;
        const names = [...new Set([...this.registry.prefixes(), ...byName.keys()])].join(', ');
        return `Unknown provider "${parts.prefix}" in model "${model}": this project offers ${names}`;
      },
      price: (model) => {
        const parts = split(model);
        const summary = parts ? byName.get(parts.prefix) : undefined;
        return (summary && parts ? summary.prices[parts.name] : undefined) ?? this.prices.priceOf(model);
      },
      unsupported: (model, call) => {
        const parts = split(model);
        const summary = parts ? byName.get(parts.prefix) : undefined;
        // A connection speaks its kind's API: the instance adapter of that kind judges the call.
        const id = summary && parts ? `${summary.kind}:${parts.name}` : model;
        if (this.registry.validateModel(id) !== null) return [];
        const { provider, name } = this.registry.resolve(id);
        return provider.unsupportedFields(name, call);
      },
      credentials: (model) => {
        const parts = split(model);
        const summary = parts ? byName.get(parts.prefix) : undefined;
        if (summary)
          return summary.apiKeySet || summary.baseUrl !== null
            ? null
            : `the api_key (or a base_url) of the project's connection "${summary.name}"`;
        if (this.registry.validateModel(model) !== null) return null;
        return this.registry.resolve(model).provider.missingCredentials();
      },
    };
  }

  private clientFor(connection: ResolvedConnection): LlmProvider {
    const cached = this.clients.get(connection.id);
    if (cached && cached.version === connection.version) return cached.provider;
    const settings = {
      prefix: connection.name,
      baseUrl: connection.baseUrl,
      apiKey: connection.apiKey,
      headers: connection.headers,
      // Every connection of a user-supplied URL goes through the policy: resolved addresses, redirects.
      fetch: this.urls.fetch as unknown as typeof fetch,
    };
    const provider =
      connection.kind === ConnectionKind.Anthropic
        ? new AnthropicProvider(this.config, settings)
        : new OpenAiProvider(this.config, settings);
    this.clients.set(connection.id, { version: connection.version, provider });
    return provider;
  }
}
