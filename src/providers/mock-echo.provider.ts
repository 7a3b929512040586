import { countWords } from '../domain/words';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { LlmParams, LlmProvider, ProviderError, ProviderErrorKind } from './llm.types';

export const MOCK_ECHO_OPTIONS = Symbol('MOCK_ECHO_OPTIONS');

export interface MockEchoOptions {
  /** How many callKeys keep a `mock_error_times` counter; the least recently used is forgotten. */
  maxTrackedKeys?: number;
}

const MOCK_ERRORS: readonly ProviderErrorKind[] = ['rate_limit', 'server_error', 'timeout'];
const STATUS_OF: Partial<Record<ProviderErrorKind, number>> = { rate_limit: 429, server_error: 500 };

/**
 * `mock:echo` — answers with the prompt verbatim, for free. The test double for latency and
 * faults: `mock_latency_ms` delays the answer; `mock_error` fails the first `mock_error_times`
 * calls of a callKey (default: every call) as a rate limit, a server error or a timeout.
 */
@Injectable()
export class MockEchoProvider implements LlmProvider {
  readonly prefix = 'mock';
  readonly models = ['echo'] as const;
  /** calls per callKey, in least-recently-used order (a Map iterates in insertion order). */
  private readonly calls = new Map<string, number>();
  private readonly maxTrackedKeys: number;

  constructor(@Optional() @Inject(MOCK_ECHO_OPTIONS) options: MockEchoOptions | null = null) {
    this.maxTrackedKeys = Math.max(1, options?.maxTrackedKeys ?? 10_000);
  }

  /** Number of callKeys currently counted (bounded by maxTrackedKeys). */
  get trackedKeys(): number {
    return this.calls.size;
  }

  async complete(model: string, prompt: string, params: LlmParams, callKey: string, signal?: AbortSignal) {
    if (model !== 'echo')
      throw new ProviderError(`Unknown mock model "mock:${model}": only mock:echo exists`, 'permanent');
    const latencyMs = this.numberParam(params, 'mock_latency_ms', 0);
    const error = params.mock_error ?? null;
    if (error !== null && !MOCK_ERRORS.includes(error as ProviderErrorKind)) {
      throw new ProviderError(
        `mock_error must be one of ${MOCK_ERRORS.join(', ')}, got ${JSON.stringify(error)}`,
        'permanent',
      );
    }
    const failTimes = this.numberParam(params, 'mock_error_times', Number.POSITIVE_INFINITY);
    // Count at call time, before the latency, so concurrent calls of one key see distinct numbers.
    const call = error === null ? 0 : this.nextCall(callKey);

    if (latencyMs > 0) await delay(latencyMs, signal);
    if (error !== null && call <= failTimes) {
      const kind = error as ProviderErrorKind;
      // An injected timeout fails at once: waiting the real timeout would only slow the tests.
      throw new ProviderError(
        `mock:echo: injected ${kind} (call ${call} of ${callKey})`,
        kind,
        STATUS_OF[kind] ?? null,
      );
    }
    const words = countWords(prompt);
    return { output: prompt, tokensIn: words, tokensOut: words };
  }

  private nextCall(callKey: string): number {
    const call = (this.calls.get(callKey) ?? 0) + 1;
    this.calls.delete(callKey);
    this.calls.set(callKey, call);
    if (this.calls.size > this.maxTrackedKeys) this.calls.delete(this.calls.keys().next().value as string);
    return call;
  }

  private numberParam(params: LlmParams, name: string, fallback: number): number {
    const raw = params[name];
    if (raw === undefined || raw === null || raw === '') return fallback;
    const value = Number(raw);
    if (typeof raw === 'boolean' || !Number.isFinite(value) || value < 0) {
      throw new ProviderError(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`, 'permanent');
    }
    return value;
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => new ProviderError('mock:echo: request aborted', 'timeout');
    if (signal?.aborted) return reject(aborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
