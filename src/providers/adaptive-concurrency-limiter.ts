import { signalError } from '../common/abort';
/**
 * `failure` (server error, timeout) breaks a run of successes; `neutral` (a permanent error, a
 * cancelled call) says nothing about the provider's capacity and changes nothing.
 */
export type PermitOutcome = 'success' | 'rate_limit' | 'failure' | 'neutral';

/** One granted slot. Release it exactly once (later calls are ignored) with how the call went. */
export interface LimiterPermit {
  release(outcome: PermitOutcome): void;
}

export interface AdaptiveConcurrencyOptions {
  /** Upper bound, and the starting limit. */
  max: number;
  /** Consecutive successes that earn one more slot (additive increase). Default 10. */
  increaseAfter?: number;
}

interface Waiter {
  grant: (permit: LimiterPermit) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * AIMD concurrency limit for one provider: starts at `max`, halves (down to 1) when a call is
 * rate limited, and grows by one after `increaseAfter` consecutive successes (up to `max`).
 * Waiters are served first-come first-served.
 *
 * A burst of 429s from calls that were all in flight together is one congestion signal, not
 * many: a rate limit only halves the limit if its call started after the previous decrease
 * (tracked with an epoch), otherwise 16 parallel 429s would collapse the limit to 1 at once.
 */
export class AdaptiveConcurrencyLimiter {
  readonly max: number;
  private readonly increaseAfter: number;
  private currentLimit: number;
  private inFlight = 0;
  private successes = 0;
  private epoch = 0;
  private readonly queue: Waiter[] = [];

  constructor(options: AdaptiveConcurrencyOptions) {
    this.max = Math.max(1, Math.floor(options.max));
    this.increaseAfter = Math.max(1, Math.floor(options.increaseAfter ?? 10));
    this.currentLimit = this.max;
  }

  get limit(): number {
    return this.currentLimit;
  }

  get active(): number {
    return this.inFlight;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves with a permit when a slot is free; rejects with the signal's reason if aborted first. */
  acquire(signal?: AbortSignal): Promise<LimiterPermit> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.inFlight < this.currentLimit && this.queue.length === 0) return Promise.resolve(this.grant());
    return new Promise<LimiterPermit>((resolve, reject) => {
      const waiter: Waiter = { grant: resolve, signal };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
    });
  }

  private grant(): LimiterPermit {
    this.inFlight++;
    const startEpoch = this.epoch;
    let released = false;
    return {
      release: (outcome) => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.record(outcome, startEpoch);
        this.drain();
      },
    };
  }

  private record(outcome: PermitOutcome, startEpoch: number): void {
    if (outcome === 'success') {
      this.successes++;
      if (this.successes >= this.increaseAfter) {
        this.successes = 0;
        if (this.currentLimit < this.max) this.currentLimit++;
      }
      return;
    }
    if (outcome === 'neutral') return;
    this.successes = 0;
    if (outcome === 'rate_limit' && startEpoch === this.epoch) {
      this.currentLimit = Math.max(1, Math.floor(this.currentLimit / 2));
      this.epoch++;
    }
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.currentLimit) {
      const waiter = this.queue.shift()!;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.grant(this.grant());
    }
  }
}

function abortReason(signal: AbortSignal): Error {
  return signalError(signal);
}
