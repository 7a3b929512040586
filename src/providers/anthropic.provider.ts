import Anthropic, { APIConnectionError, APIUserAbortError } from '@anthropic-ai/sdk';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { CLIENT_SETTINGS, type ClientSettings, LlmParams, LlmProvider } from './llm.types';
import { passThroughParams, toProviderError } from './provider-errors';

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';
/** The Messages API requires max_tokens; grids written for OpenAI often leave it out. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;
const PLACEHOLDER_API_KEY = 'not-set';

/**
 * `anthropic:*` — the Messages API through the official SDK. One grid spans providers, so two
 * OpenAI-style params are translated instead of failing every Anthropic run with a 400:
 * `stop` (a string) becomes `stop_sequences: [stop]`, and `seed` (no Anthropic equivalent) is dropped.
 */
@Injectable()
export class AnthropicProvider implements LlmProvider {
  readonly prefix: string;
  private readonly client: Anthropic;

  /** `settings`: a project connection's endpoint instead of the instance-wide one (see ConnectionClients). */
  constructor(
    @InjectConfig() config: AppConfig,
    @Optional() @Inject(CLIENT_SETTINGS) settings?: ClientSettings | null,
  ) {
    const cfg = config.providers;
    this.prefix = settings?.prefix ?? 'anthropic';
    this.client = new Anthropic({
      // Explicit values so the SDK never falls back to process.env or a credentials profile.
      apiKey: (settings ? settings.apiKey : cfg.anthropicApiKey) ?? PLACEHOLDER_API_KEY,
      baseURL: (settings ? settings.baseUrl : cfg.anthropicBaseUrl) ?? ANTHROPIC_DEFAULT_BASE_URL,
      defaultHeaders: settings?.headers,
      fetch: settings?.fetch,
      // LlmClient owns retries (with the shared limiter and Retry-After); the SDK must not stack its own.
      maxRetries: 0,
      timeout: cfg.timeoutMs,
    });
  }

  async complete(model: string, prompt: string, params: LlmParams, _callKey: string, signal?: AbortSignal) {
    const { stop, ...rest } = passThroughParams(params, ['model', 'messages', 'stream', 'seed']);
    const body = {
      max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS,
      ...rest,
      ...(typeof stop === 'string' ? { stop_sequences: [stop] } : {}),
      model,
      messages: [{ role: 'user', content: prompt }],
      stream: false,
    } as Anthropic.MessageCreateParamsNonStreaming;
    try {
      const res = await this.client.messages.create(body, { signal });
      return {
        output: res.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
        tokensIn: res.usage?.input_tokens ?? 0,
        tokensOut: res.usage?.output_tokens ?? 0,
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
