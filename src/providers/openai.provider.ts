import { Inject, Injectable, Optional } from '@nestjs/common';
import OpenAI, { APIConnectionError, APIUserAbortError } from 'openai';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import {
  CLIENT_SETTINGS,
  type ClientSettings,
  LlmProvider,
  ProviderAnswer,
  ProviderCall,
  UnsupportedField,
} from './llm.types';
import { openAiAnswer, openAiRequestBody } from './openai.mapping';
import { toProviderError } from './provider-errors';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
/** Local OpenAI-compatible servers (vLLM, Ollama, llama.cpp) need no key, but the SDK insists on one. */
const PLACEHOLDER_API_KEY = 'not-set';

/** `openai:*` — any OpenAI-compatible Chat Completions endpoint, through the official SDK. */
@Injectable()
export class OpenAiProvider implements LlmProvider {
  readonly prefix: string;
  private readonly client: OpenAI;
  private readonly usable: boolean;

  /** `settings`: a project connection's endpoint instead of the instance-wide one (see ConnectionClients). */
  constructor(
    @InjectConfig() config: AppConfig,
    @Optional() @Inject(CLIENT_SETTINGS) settings?: ClientSettings | null,
  ) {
    const cfg = config.providers;
    this.prefix = settings?.prefix ?? 'openai';
    const apiKey = settings ? settings.apiKey : cfg.openaiApiKey;
    const baseUrl = settings ? settings.baseUrl : cfg.openaiBaseUrl;
    // A key, or an endpoint of one's own (vLLM, Ollama, a LiteLLM proxy): those often need no key.
    this.usable = apiKey !== null || (baseUrl !== null && !isPublicOpenAi(baseUrl));
    this.client = new OpenAI({
      // Explicit values so the SDK never falls back to reading process.env itself.
      apiKey: apiKey ?? PLACEHOLDER_API_KEY,
      baseURL: baseUrl ?? OPENAI_DEFAULT_BASE_URL,
      defaultHeaders: settings?.headers,
      fetch: settings?.fetch,
      organization: null,
      project: null,
      // LlmClient owns retries (with the shared limiter and Retry-After); the SDK must not stack its own.
      maxRetries: 0,
      timeout: cfg.timeoutMs,
    });
  }

  /** Every message role and every param can be sent to an OpenAI-compatible endpoint. */
  unsupportedFields(): UnsupportedField[] {
    return [];
  }

  missingCredentials(): string | null {
    return this.usable
      ? null
      : 'OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible server that needs no key)';
  }

  async complete(model: string, call: ProviderCall, _callKey: string, signal?: AbortSignal): Promise<ProviderAnswer> {
    try {
      const res = await this.client.chat.completions.create(openAiRequestBody(model, call.messages, call.params), {
        signal,
      });
      return openAiAnswer(res);
    } catch (err) {
      throw toProviderError(
        err,
        `${this.prefix}:${model}`,
        (e) => e instanceof APIConnectionError || e instanceof APIUserAbortError,
      );
    }
  }
}

function isPublicOpenAi(baseUrl: string): boolean {
  try {
    return new URL(baseUrl).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}
