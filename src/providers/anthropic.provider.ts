import Anthropic, { APIConnectionError, APIUserAbortError } from '@anthropic-ai/sdk';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { anthropicAnswer, anthropicRequestBody, anthropicUnsupported } from './anthropic.mapping';
import {
  CLIENT_SETTINGS,
  type ClientSettings,
  LlmProvider,
  ProviderAnswer,
  ProviderCall,
  UnsupportedField,
} from './llm.types';
import { toProviderError } from './provider-errors';

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';
const PLACEHOLDER_API_KEY = 'not-set';

/**
 * `anthropic:*` — the Messages API through the official SDK. One grid spans providers, so OpenAI's
 * request shape is translated (see anthropicRequestBody); what has no Anthropic equivalent is
 * refused when the experiment or run is created (anthropicUnsupported), never dropped.
 */
@Injectable()
export class AnthropicProvider implements LlmProvider {
  readonly prefix: string;
  private readonly client: Anthropic;
  private readonly usable: boolean;

  /** `settings`: a project connection's endpoint instead of the instance-wide one (see ConnectionClients). */
  constructor(
    @InjectConfig() config: AppConfig,
    @Optional() @Inject(CLIENT_SETTINGS) settings?: ClientSettings | null,
  ) {
    const cfg = config.providers;
    this.prefix = settings?.prefix ?? 'anthropic';
    const apiKey = settings ? settings.apiKey : cfg.anthropicApiKey;
    const baseUrl = settings ? settings.baseUrl : cfg.anthropicBaseUrl;
    // A key, or an endpoint of one's own (a proxy that holds the key): then no key is needed here.
    this.usable = apiKey !== null || (baseUrl !== null && !isPublicAnthropic(baseUrl));
    this.client = new Anthropic({
      // Explicit values so the SDK never falls back to process.env or a credentials profile.
      apiKey: apiKey ?? PLACEHOLDER_API_KEY,
      baseURL: baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL,
      defaultHeaders: settings?.headers,
      fetch: settings?.fetch,
      // LlmClient owns retries (with the shared limiter and Retry-After); the SDK must not stack its own.
      maxRetries: 0,
      timeout: cfg.timeoutMs,
    });
  }

  unsupportedFields(_model: string, call: ProviderCall): UnsupportedField[] {
    return anthropicUnsupported(call.messages, call.params);
  }

  missingCredentials(): string | null {
    return this.usable ? null : 'ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL for a proxy that holds the key)';
  }

  async complete(model: string, call: ProviderCall, _callKey: string, signal?: AbortSignal): Promise<ProviderAnswer> {
    const body = anthropicRequestBody(model, call.messages, call.params);
    try {
      return anthropicAnswer(await this.client.messages.create(body, { signal }));
    } catch (err) {
      throw toProviderError(
        err,
        `${this.prefix}:${model}`,
        (e) => e instanceof APIConnectionError || e instanceof APIUserAbortError,
      );
    }
  }
}

function isPublicAnthropic(baseUrl: string): boolean {
  try {
    return new URL(baseUrl).hostname === 'api.anthropic.com';
  } catch {
    return false;
  }
}
