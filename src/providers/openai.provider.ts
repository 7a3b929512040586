import { Inject, Injectable, Optional } from '@nestjs/common';
import OpenAI, { APIConnectionError, APIUserAbortError } from 'openai';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { CLIENT_SETTINGS, type ClientSettings, LlmParams, LlmProvider } from './llm.types';
import { passThroughParams, toProviderError } from './provider-errors';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
/** Local OpenAI-compatible servers (vLLM, Ollama, llama.cpp) need no key, but the SDK insists on one. */
const PLACEHOLDER_API_KEY = 'not-set';

/** `openai:*` — any OpenAI-compatible Chat Completions endpoint, through the official SDK. */
@Injectable()
export class OpenAiProvider implements LlmProvider {
  readonly prefix: string;
  private readonly client: OpenAI;

  /** `settings`: a project connection's endpoint instead of the instance-wide one (see ConnectionClients). */
  constructor(
    @InjectConfig() config: AppConfig,
    @Optional() @Inject(CLIENT_SETTINGS) settings?: ClientSettings | null,
  ) {
    const cfg = config.providers;
    this.prefix = settings?.prefix ?? 'openai';
    this.client = new OpenAI({
      // Explicit values so the SDK never falls back to reading process.env itself.
      apiKey: (settings ? settings.apiKey : cfg.openaiApiKey) ?? PLACEHOLDER_API_KEY,
      baseURL: (settings ? settings.baseUrl : cfg.openaiBaseUrl) ?? OPENAI_DEFAULT_BASE_URL,
      defaultHeaders: settings?.headers,
      fetch: settings?.fetch,
      organization: null,
      project: null,
      // LlmClient owns retries (with the shared limiter and Retry-After); the SDK must not stack its own.
      maxRetries: 0,
      timeout: cfg.timeoutMs,
    });
  }

  async complete(model: string, prompt: string, params: LlmParams, _callKey: string, signal?: AbortSignal) {
    try {
      const res = await this.client.chat.completions.create(
        {
          ...passThroughParams(params, ['model', 'messages', 'stream']),
          model,
          messages: [{ role: 'user', content: prompt }],
          stream: false,
        } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
        { signal },
      );
      return {
        // A refusal or a tool call has no text content: that is an empty answer, not a failure.
        output: res.choices[0]?.message?.content ?? '',
        tokensIn: res.usage?.prompt_tokens ?? 0,
        tokensOut: res.usage?.completion_tokens ?? 0,
      };
    } catch (err) {
      throw toProviderError(
        err,
        `${this.prefix}:${model}`,
        (e) => e instanceof APIConnectionError || e instanceof APIUserAbortError,
      );
    }
  }
}
