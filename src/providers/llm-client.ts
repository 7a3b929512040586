import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { signalError } from '../common/abort';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { AdaptiveConcurrencyLimiter, PermitOutcome } from './adaptive-concurrency-limiter';
import {
  CompletionRequest,
  CompletionResult,
  LlmProvider,
  ModelPrice,
  ProviderAnswer,
  ProviderError,
} from './llm.types';
import { PriceTable } from './price-table';
import { MetricsService } from '../metrics/metrics.service';
import { ProjectModels, type ResolvedModel } from './project-models';
import { ProviderRegistry } from './provider-registry';
import { SharedRateLimits } from './shared-rate-limits';
import { BudgetExhaustedError, estimateCallUsd, SPEND_LEDGER, type SpendLedger } from './spend-ledger';

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
    @Optional() @Inject(ProjectModels) private readonly projectModels: ProjectModels | null = null,
    @Optional() @Inject(SharedRateLimits) private readonly rateLimits: SharedRateLimits | null = null,
    @Optional() @Inject(SPEND_LEDGER) private readonly ledger: SpendLedger | null = null,
    @Optional() @Inject(MetricsService) private readonly metrics: MetricsService | null = null,
  ) {
    this.sleep = options?.sleep ?? abortableSleep;
    this.random = options?.random ?? Math.random;
    this.now = options?.now ?? (() => performance.now());
    this.increaseAfter = options?.increaseAfter;
  }

  /**
   * The limiter of one provider prefix (or `conn:<id>` with the connection's max_concurrency),
   * created on first use (exposed for metrics and tests).
   */
  limiterFor(prefix: string, max: number | null = null): AdaptiveConcurrencyLimiter {
    const ceiling = max ?? this.config.providers.concurrency;
    let limiter = this.limiters.get(prefix);
    if (!limiter || limiter.max !== ceiling) {
      limiter = new AdaptiveConcurrencyLimiter({ max: ceiling, increaseAfter: this.increaseAfter });
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
    const resolved = await this.resolve(req);
    const { provider, name } = resolved;
    const limiter = this.limiterFor(resolved.limitKey, resolved.maxConcurrency);
    const maxAttempts = this.config.providers.maxAttempts;

    for (let attempt = 1; ; attempt++) {
      const permit = await limiter.acquire(req.signal);
      let error: ProviderError;
      let reserved: string | null = null;
      try {
        await this.awaitRateCapacity(resolved, req.signal);
        reserved = await this.reserve(req, resolved.price);
        const callStarted = this.now();
        const res = await this.attempt(provider, name, req).catch((e: unknown) => {
          const kind = e instanceof ProviderError ? e.kind : req.signal?.aborted ? 'aborted' : 'permanent';
          this.metrics?.observeProviderCall(provider.prefix, kind, (this.now() - callStarted) / 1000);
          throw e;
        });
        const callMs = Math.round(this.now() - callStarted);
        this.metrics?.observeProviderCall(provider.prefix, 'success', callMs / 1000);
        permit.release('success');
        const cost = resolved.price ? costOf(resolved.price, res.tokensIn, res.tokensOut) : null;
        await this.afterCall(req, resolved, reserved, cost, res.tokensIn + res.tokensOut);
        return {
          ...res,
          cost,
          durationMs: Math.round(this.now() - started),
          callMs,
          attempts: attempt,
        };
      } catch (err) {
        if (reserved !== null) await this.afterCall(req, resolved, reserved, null, 0);
        if (err instanceof BudgetExhaustedError) {
          permit.release('neutral');
          throw err;
        }
        if (req.signal?.aborted) {
          permit.release('neutral');
          throw req.signal.reason;
        }
        error =
          err instanceof ProviderError ? err : new ProviderError(`${req.model}: ${errorMessage(err)}`, 'permanent');
        permit.release(outcomeOf(error));
      }
      if (!error.retryable) {
        error.attempts = attempt;
        throw error;
      }
      if (attempt >= maxAttempts) {
        const tries = attempt === 1 ? '1 attempt' : `${attempt} attempts`;
        const gaveUp = new ProviderError(
          `${error.message} (gave up after ${tries})`,
          error.kind,
          error.status,
          error.retryAfterMs,
        );
        gaveUp.attempts = attempt;
        throw gaveUp;
      }
      const waitMs = this.backoffMs(attempt, error.retryAfterMs);
      this.logger.debug(
        `${req.model} call ${req.callKey}: attempt ${attempt}/${maxAttempts} failed (${error.kind}${error.status ? ` ${error.status}` : ''}), retrying in ${waitMs} ms`,
      );
      await this.sleep(waitMs, req.signal);
    }
  }

  /** The adapter, price and limits of the request's model (per project when the request names one). */
  private async resolve(req: CompletionRequest): Promise<ResolvedModel> {
    if (req.projectId && this.projectModels) return this.projectModels.resolve(req.projectId, req.model);
    const { provider, name } = this.registry.resolve(req.model);
    const limits = this.config.providers.rateLimits[provider.prefix];
    return {
      provider,
      name,
      price: this.prices.priceOf(req.model),
      limitKey: provider.prefix,
      maxConcurrency: null,
      rpmLimit: limits?.rpm ?? null,
      tpmLimit: limits?.tpm ?? null,
    };
  }

  /** Shared rpm/tpm: waits (never fails) until this call may start. */
  private async awaitRateCapacity(resolved: ResolvedModel, signal?: AbortSignal): Promise<void> {
    if (!this.rateLimits) return;
    if (resolved.rpmLimit) await this.rateLimits.acquireCall(resolved.limitKey, resolved.rpmLimit, signal);
    if (resolved.tpmLimit) await this.rateLimits.awaitTokens(resolved.limitKey, resolved.tpmLimit, signal);
  }

  /** Reserves the call's estimated cost against its experiment's budget: the reservation's id, null when none. */
  private async reserve(req: CompletionRequest, price: ModelPrice | null): Promise<string | null> {
    if (!req.spend || !this.ledger) return null;
    const estimate = price ? estimateCallUsd(price, req.messages, req.params) : 0;
    const reservation = await this.ledger.reserve(req.spend, estimate);
    if (reservation === null) throw new BudgetExhaustedError();
    return reservation;
  }

  /** Settles the reservation with the real cost and charges the tokens to the shared tpm window. */
  private async afterCall(
    req: CompletionRequest,
    resolved: ResolvedModel,
    reserved: string | null,
    cost: number | null,
    tokens: number,
  ): Promise<void> {
    if (req.spend && this.ledger && reserved !== null) {
      await this.ledger
        .settle(req.spend, reserved, cost)
        .catch((e: unknown) => this.logger.warn(`${req.callKey}: could not settle spend: ${errorMessage(e)}`));
    }
    if (this.rateLimits && resolved.tpmLimit && tokens > 0) {
      await this.rateLimits.chargeTokens(resolved.limitKey, resolved.tpmLimit, tokens);
    }
  }

  /** One provider call bounded by the timeout; the adapter's signal aborts on timeout or cancel. */
  private async attempt(provider: LlmProvider, name: string, req: CompletionRequest): Promise<ProviderAnswer> {
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
        provider.complete(name, { messages: req.messages, params: req.params }, req.callKey, controller.signal),
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

/** Multiply before dividing: 1000 × 2.5 / 1e6 is exactly 0.0025 (as PriceTable.cost). */
function costOf(price: ModelPrice, tokensIn: number, tokensOut: number): number {
  return (tokensIn * price.input + tokensOut * price.output) / 1e6;
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
