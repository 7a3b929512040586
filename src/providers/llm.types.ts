/**
 * The provider contract every module codes against. `providers/` implements it
 * (openai:, anthropic:, mock:echo, registry, prices, retries, adaptive concurrency).
 */

/** Scalar run/stage parameters as they appear in a run config (temperature, max_tokens, mock_*). */
export type LlmParams = Record<string, string | number | boolean | null>;

export interface CompletionRequest {
  /** Full id with its provider prefix, e.g. `openai:gpt-4o-mini`, `mock:echo`. */
  model: string;
  /** The fully rendered prompt (sent as one user message). */
  prompt: string;
  params: LlmParams;
  /**
   * Identifies the logical call for fault injection (`mock_error_times` counts calls per key),
   * e.g. `${runId}:${stageIndex}` or `judge:${runId}:${scorer}`.
   */
  callKey: string;
  signal?: AbortSignal;
  /** The project whose connections resolve the model's prefix; absent: instance-wide providers only. */
  projectId?: string;
  /** Whose budget pays: reserved before each provider call, settled with the real cost after. */
  spend?: { experimentId: string; kind: SpendKind };
}

export type SpendKind = 'run' | 'judge';

export interface CompletionResult {
  output: string;
  tokensIn: number;
  tokensOut: number;
  /** USD from the price table; null when the model has no known price. */
  cost: number | null;
  /** Wall time including retries and waits for a concurrency slot. */
  durationMs: number;
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

  get retryable(): boolean {
    return this.kind !== 'permanent';
  }
}

/** One adapter: makes a single attempt, maps failures to ProviderError. */
export interface LlmProvider {
  /** `openai`, `anthropic`, `mock`. */
  readonly prefix: string;
  /** The model names it serves when that is a closed set (mock: `['echo']`); absent = any name. */
  readonly models?: readonly string[];
  /** `model` here is the part after the prefix. */
  complete(
    model: string,
    prompt: string,
    params: LlmParams,
    callKey: string,
    signal?: AbortSignal,
  ): Promise<{ output: string; tokensIn: number; tokensOut: number }>;
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
