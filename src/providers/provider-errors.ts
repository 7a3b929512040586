import { urlRefusalOf } from '../security/url-policy';
import { type JsonValue, type LlmParams, ProviderError } from './llm.types';

/** The error shape both official SDKs share (`APIError`, `APIConnectionError`, …). */
interface SdkLikeError {
  status?: number;
  headers?: Headers | Record<string, string | undefined>;
  message?: string;
  name?: string;
}

function header(headers: SdkLikeError['headers'], name: string): string | null {
  if (!headers) return null;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  const record = headers as Record<string, string | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  return key ? (record[key] ?? null) : null;
}

/**
 * Milliseconds to wait from `retry-after-ms` (OpenAI's precise variant) or `retry-after`
 * (seconds, or an HTTP date); null when absent or unparsable.
 */
export function parseRetryAfter(headers: SdkLikeError['headers'], now: number = Date.now()): number | null {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Math.ceil(Number(ms));
  const value = header(headers, 'retry-after')?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Maps an HTTP status to our retry taxonomy (shared by every HTTP adapter). */
export function kindForStatus(status: number): ProviderError['kind'] {
  // 529 is Anthropic's "overloaded": a capacity signal like 429, so the limiter backs off too.
  if (status === 429 || status === 529) return 'rate_limit';
  if (status >= 500 || status === 408 || status === 409) return 'server_error';
  return 'permanent';
}

/**
 * Turns whatever an SDK threw into a ProviderError. Errors without a status are transport
 * failures (connection refused/reset, SDK timeout, abort) and count as `timeout`; errors the SDK
 * raises before sending (bad arguments) are permanent.
 */
export function toProviderError(
  err: unknown,
  provider: string,
  isTransportError: (err: unknown) => boolean,
): ProviderError {
  if (err instanceof ProviderError) return err;
  // A connection's endpoint resolved to a refused address (SSRF policy): retrying cannot help.
  const refusal = urlRefusalOf(err);
  if (refusal) return new ProviderError(`${provider}: ${refusal.message}`, 'permanent');
  const e = (err ?? {}) as SdkLikeError;
  const message = `${provider}: ${e.message ?? String(err)}`;
  if (typeof e.status === 'number') {
    const kind = kindForStatus(e.status);
    const retryAfterMs = kind === 'permanent' ? null : parseRetryAfter(e.headers);
    return new ProviderError(message, kind, e.status, retryAfterMs);
  }
  if (isTransportError(err)) return new ProviderError(message, 'timeout');
  return new ProviderError(message, 'permanent');
}

/**
 * Params sent to a real provider: `mock_*` are ours (fault injection), null means "unset", and
 * the request's own fields (model, messages, stream) are not overridable by a grid parameter.
 */
export function passThroughParams(params: LlmParams, reserved: readonly string[]): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === null || key.startsWith('mock_') || reserved.includes(key)) continue;
    out[key] = value;
  }
  return out;
}
