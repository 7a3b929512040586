import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { signalError } from '../common/abort';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { AdaptiveConcurrencyLimiter, PermitOutcome } from './adaptive-concurrency-limiter';
import { CompletionRequest, CompletionResult, LlmProvider, ProviderError } from './llm.types';
import { PriceTable } from './price-table';
import { ProviderRegistry } from './provider-registry';

export const LLM_CLIENT_OPTIONS = Symbol('LLM_CLIENT_OPTIONS');

/** Injectable time and randomness, so tests of backoff never wait in real time. */
export interface LlmClientOptions {
  /** Waits `ms`; must reject with the signal's reason when it aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1): the full-jitter draw. */
  random?: () => number;
  /** Monotonic milliseconds, for durationMs. */
  now?: () => number;
  /** Consecutive successes before a provider's limiter gains a slot. Default 10. */
  increaseAfter?: number;
}

type Attempt = { output: string; tokensIn: number; tokensOut: number };

/**
 * The one entry point for LLM calls: resolves the adapter, waits for a slot of that provider's
 * adaptive limiter, calls it with a timeout, retries retryable failures with exponential backoff
 * and full jitter (at least Retry-After), and prices the result.
 *
 * Cancellation: when `req.signal` aborts, the call stops at once (waiting for a slot, in flight,
 * or backing off) and rejects with the signal's reason, which is not a ProviderError.
 */
@Injectable()
export class LlmClient {
  private readonly logger = new Logger(LlmClient.name);
  private readonly limiters = new Map<string, AdaptiveConcurrencyLimiter>();
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly increaseAfter: number | undefined;

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly prices: PriceTable,
    @InjectConfig() private readonly config: AppConfig,
    @Optional() @Inject(LLM_CLIENT_OPTIONS) options: LlmClientOptions | null = null,
  ) {
    this.sleep = options?.sleep ?? abortableSleep;
    this.random = options?.random ?? Math.random;
    this.now = options?.now ?? (() => performance.now());
    this.increaseAfter = options?.increaseAfter;
  }

  /** The limiter of one provider prefix, created on first use (exposed for metrics and tests). */
  limiterFor(prefix: string): AdaptiveConcurrencyLimiter {
    let limiter = this.limiters.get(prefix);
    if (!limiter) {
      limiter = new AdaptiveConcurrencyLimiter({
        max: this.config.providers.concurrency,
        increaseAfter: this.increaseAfter,
      });
      this.limiters.set(prefix, limiter);
    }
    return limiter;
  }

  /** Wait before retry number `attempt` (1 = after the first failure): full jitter, at least Retry-After. */
  backoffMs(attempt: number, retryAfterMs: number | null): number {
    const { retryBaseMs, retryMaxMs } = this.config.providers;
    const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
    const jittered = Math.floor(this.random() * ceiling);
    return retryAfterMs === null ? jittered : Math.max(retryAfterMs, jittered);
  }

  async complete(req: CompletionRequest): Promise<CompletionResult> {
    const started = this.now();
    const { provider, name } = this.registry.resolve(req.model);
    const limiter = this.limiterFor(provider.prefix);
    const maxAttempts = this.config.providers.maxAttempts;

    for (let attempt = 1; ; attempt++) {
      const permit = await limiter.acquire(req.signal);
      let error: ProviderError;
      try {
        const res = await this.attempt(provider, name, req);
        permit.release('success');
        return {
          ...res,
          cost: this.prices.cost(req.model, res.tokensIn, res.tokensOut),
          durationMs: Math.round(this.now() - started),
          attempts: attempt,
        };
      } catch (err) {
        if (req.signal?.aborted) {
          permit.release('neutral');
          throw req.signal.reason;
        }
        error =
          err instanceof ProviderError ? err : new ProviderError(`${req.model}: ${errorMessage(err)}`, 'permanent');
        permit.release(outcomeOf(error));
      }
      if (!error.retryable) throw error;
      if (attempt >= maxAttempts) {
        const tries = attempt === 1 ? '1 attempt' : `${attempt} attempts`;
        throw new ProviderError(
          `${error.message} (gave up after ${tries})`,
          error.kind,
          error.status,
          error.retryAfterMs,
        );
      }
      const waitMs = this.backoffMs(attempt, error.retryAfterMs);
      this.logger.debug(
        `${req.model} call ${req.callKey}: attempt ${attempt}/${maxAttempts} failed (${error.kind}${error.status ? ` ${error.status}` : ''}), retrying in ${waitMs} ms`,
      );
      await this.sleep(waitMs, req.signal);
    }
  }

  /** One provider call bounded by the timeout; the adapter's signal aborts on timeout or cancel. */
  private async attempt(provider: LlmProvider, name: string, req: CompletionRequest): Promise<Attempt> {
    if (req.signal?.aborted) throw req.signal.reason;
    const timeoutMs = this.config.providers.timeoutMs;
    const controller = new AbortController();
    const onCancel = () => controller.abort(req.signal?.reason);
    req.signal?.addEventListener('abort', onCancel, { once: true });
    const timer = setTimeout(
      () => controller.abort(new ProviderError(`${req.model}: no answer within ${timeoutMs} ms`, 'timeout')),
      timeoutMs,
    );
    // Settles as soon as the signal aborts, even if an adapter ignores the signal.
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(signalError(controller.signal)), { once: true });
    });
    try {
      return await Promise.race([
        provider.complete(name, req.prompt, req.params, req.callKey, controller.signal),
        aborted,
      ]);
    } catch (err) {
      // Whatever the adapter threw after our timer fired (an SDK abort error…), it was our timeout.
      if (controller.signal.aborted && controller.signal.reason instanceof ProviderError)
        throw controller.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onCancel);
    }
  }
}

function outcomeOf(error: ProviderError): PermitOutcome {
  if (error.kind === 'rate_limit') return 'rate_limit';
  return error.kind === 'permanent' ? 'neutral' : 'failure';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signalError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      if (signal) reject(signalError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
