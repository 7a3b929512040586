/**
 * The provider contract every module codes against. `providers/` implements it
 * (openai:, anthropic:, mock:echo, registry, prices, retries, adaptive concurrency).
 */

/** Any JSON value: structured params (`tools`, `response_format`, …) are taken literally. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Run/stage parameters as they appear in a run config: scalars (temperature, max_tokens, mock_*) and
 * the structured request fields `tools`, `tool_choice`, `response_format`, `stop`, `seed`.
 */
export type LlmParams = Record<string, JsonValue>;

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

/** A tool call, as a stage result stores it and as a few-shot assistant turn may carry it. */
export interface ToolCall {
  id: string;
  name: string;
  /** Parsed JSON; the raw text when a provider sent arguments that are not JSON. */
  arguments: JsonValue;
}

/** One rendered chat message. A string prompt is one `user` message. */
export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** `tool` messages: the id of the call they answer. */
  tool_call_id?: string;
  /** `assistant` messages (a few-shot turn): the calls it made. */
  tool_calls?: ToolCall[];
}

/** What an adapter is asked to send: rendered messages and the params, literally. */
export interface ProviderCall {
  messages: ChatMessage[];
  params: LlmParams;
}

/** What an adapter read back from one successful call. */
export interface ProviderAnswer {
  /** The text content ('' when the model only called tools or refused). */
  output: string;
  tokensIn: number;
  tokensOut: number;
  /** Null when the model called no tool. */
  toolCalls: ToolCall[] | null;
  /** OpenAI's vocabulary (`stop`, `length`, `tool_calls`, `content_filter`); other providers' reasons mapped onto it. */
  finishReason: string | null;
}

export interface CompletionRequest {
  /** Full id with its provider prefix, e.g. `openai:gpt-4o-mini`, `mock:echo`. */
  model: string;
  /** The fully rendered messages. */
  messages: ChatMessage[];
  params: LlmParams;
  /**
   * Identifies the logical call for fault injection (`mock_error_times` counts calls per key),
   * e.g. `${runId}:${stageIndex}` or `judge:${runId}:${scorer}`.
   */
  callKey: string;
  signal?: AbortSignal;
  /** The project whose connections resolve the model's prefix; absent: instance-wide providers only. */
  projectId?: string;
  /**
   * Whose budget pays: reserved before each provider call, settled with the real cost after.
   * `runId`/`holder` tie the reservation to the run's lease (see SpendTarget).
   */
  spend?: { experimentId: string; kind: SpendKind; runId?: string; holder?: string };
}

export type SpendKind = 'run' | 'judge';

export interface CompletionResult extends ProviderAnswer {
  /** USD from the price table; null when the model has no known price. */
  cost: number | null;
  /** Wall time including retries and waits for a concurrency slot. */
  durationMs: number;
  /** The last (successful) attempt's provider call alone: no slot waits, rate waits or retry backoffs. */
  callMs: number;
  /** Provider calls made (1 = no retry). */
  attempts: number;
}

export type ProviderErrorKind = 'rate_limit' | 'server_error' | 'timeout' | 'permanent';

/** A failed provider call. `retryable` errors are retried by LlmClient; permanent ones fail at once. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly kind: ProviderErrorKind,
    readonly status: number | null = null,
    /** From Retry-After (or retry-after-ms), when the provider sent one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'ProviderError';
  }

  /** Set by LlmClient on the error it finally throws: provider calls made, retries included. */
  attempts?: number;

  get retryable(): boolean {
    return this.kind !== 'permanent';
  }
}

/** A field of a call that a provider cannot honour, and why. */
export interface UnsupportedField {
  /** `params.<key>` or `messages[<i>]`, relative to the call. */
  field: string;
  reason: string;
}

/** One adapter: makes a single attempt, maps failures to ProviderError. */
export interface LlmProvider {
  /** `openai`, `anthropic`, `mock`. */
  readonly prefix: string;
  /** The model names it serves when that is a closed set (mock: `['echo']`); absent = any name. */
  readonly models?: readonly string[];
  /** `model` here is the part after the prefix. */
  complete(model: string, call: ProviderCall, callKey: string, signal?: AbortSignal): Promise<ProviderAnswer>;
  /**
   * What of a call this adapter cannot honour, one entry per field (`params.seed`, `messages[2]`);
   * [] when everything can be sent. Checked when an experiment or a run is created, so nothing is
   * dropped silently at run time. Message contents may still be templates.
   */
  unsupportedFields(model: string, call: ProviderCall): UnsupportedField[];
  /** Null when calls can be made; else the configuration variable(s) to set, for a 400 that says so. */
  missingCredentials(): string | null;
}

/** Injection token of a connection's client settings (absent for the instance-wide adapters). */
export const CLIENT_SETTINGS = Symbol('CLIENT_SETTINGS');

/** Where a per-connection adapter sends its calls. */
export interface ClientSettings {
  /** The model prefix (the connection's name). */
  prefix: string;
  baseUrl: string | null;
  apiKey: string | null;
  headers?: Record<string, string>;
  /** The SSRF-guarded fetch for user-supplied endpoints. */
  fetch?: typeof fetch;
}

export interface ModelPrice {
  /** USD per million input tokens. */
  input: number;
  /** USD per million output tokens. */
  output: number;
}

/** The messages of a plain text prompt. */
export function userMessage(text: string): ChatMessage[] {
  return [{ role: 'user', content: text }];
}
