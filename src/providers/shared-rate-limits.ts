import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { redisReconnectDelayMs } from '../common/redis-reconnect';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';

/** Sub-window counts that divide 60 s into whole seconds (Redis expiries are in seconds). */
const DIVISORS = [12, 10, 6, 5, 4, 3, 2, 1];

/**
 * How a limit of `limit` per 60 s is enforced with fixed windows so that NO 60-second interval
 * (sliding, not just the limiter's own windows) sees more than `limit`: n consecutive windows of
 * 60/n s each admit floor(limit/(n+1)); a 60-s interval meets at most n+1 of those disjoint
 * windows, so it sees at most (n+1)·floor(limit/(n+1)) ≤ limit. n is the largest divisor of 60
 * up to 12 with n+1 ≤ limit (throughput n/(n+1) of the limit: 92% with n = 12). A limit of 1 is
 * one 60-s window of 1: consecutive calls are then at least 60 s apart.
 */
export function windowPlan(limit: number): { windowSeconds: number; points: number } {
  if (limit <= 2) return { windowSeconds: 60, points: 1 };
  const n = DIVISORS.find((d) => d + 1 <= limit) ?? 1;
  return { windowSeconds: 60 / n, points: Math.floor(limit / (n + 1)) };
}

/** Redis key prefix: every process that shares the Redis shares the limits. */
const KEY_PREFIX = 'promptlooper:ratelimit';

/**
 * Calls-per-minute and tokens-per-minute limits shared by every process on one Redis
 * (`rate-limiter-flexible`'s atomic Redis counters), or in this process in embedded mode.
 * A call waits for capacity; it never fails for lack of it. Tokens are charged when the usage is
 * known: a call starts only while the current minute still has token capacity, so the tokens of
 * a minute exceed the limit by at most what the calls in flight consume.
 */
@Injectable()
export class SharedRateLimits implements OnModuleDestroy {
  private readonly logger = new Logger(SharedRateLimits.name);
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private redis: Redis | null = null;

  constructor(@InjectConfig() private readonly config: AppConfig) {}

  /** Waits until a call may start under `rpm` for `key` (a connection or instance provider), then counts it. */
  async acquireCall(key: string, rpm: number, signal?: AbortSignal): Promise<void> {
    const plan = windowPlan(rpm);
    const limiter = this.limiter(`rpm:${plan.windowSeconds}:${plan.points}`, plan.points, plan.windowSeconds);
    for (;;) {
      signal?.throwIfAborted();
      try {
        await limiter.consume(key, 1);
        return;
      } catch (rejection) {
        await this.waitOut(rejection, signal);
      }
    }
  }

  /** Waits until the current minute of `key` has token capacity left under `tpm`. */
  async awaitTokens(key: string, tpm: number, signal?: AbortSignal): Promise<void> {
    const limiter = this.limiter(`tpm:${tpm}`, tpm, 60);
    for (;;) {
      signal?.throwIfAborted();
      const state = await limiter.get(key);
      if (!state || state.consumedPoints < tpm) return;
      await this.sleep(Math.max(50, state.msBeforeNext), signal);
    }
  }

  /** Charges the tokens of a finished call to the current minute of `key`. */
  async chargeTokens(key: string, tpm: number, tokens: number): Promise<void> {
    if (tokens <= 0) return;
    try {
      await this.limiter(`tpm:${tpm}`, tpm, 60).penalty(key, Math.ceil(tokens));
    } catch (error) {
      this.logger.warn(`could not charge ${tokens} tokens to ${key}: ${(error as Error).message}`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    const redis = this.redis;
    this.redis = null;
    if (redis) await redis.quit().catch(() => redis.disconnect());
  }

  private limiter(name: string, points: number, duration: number): RateLimiterAbstract {
    let limiter = this.limiters.get(name);
    if (!limiter) {
      const keyPrefix = `${KEY_PREFIX}:${name}`;
      limiter = this.config.redisUrl
        ? new RateLimiterRedis({ storeClient: this.client(), points, duration, keyPrefix })
        : new RateLimiterMemory({ points, duration, keyPrefix });
      this.limiters.set(name, limiter);
    }
    return limiter;
  }

  private client(): Redis {
    this.redis ??= new Redis(this.config.redisUrl as string, {
      maxRetriesPerRequest: 3,
      enableOfflineQueue: true,
      retryStrategy: redisReconnectDelayMs,
    });
    return this.redis;
  }

  private async waitOut(rejection: unknown, signal?: AbortSignal): Promise<void> {
    // A store error (Redis down) is an Error; waiting and retrying beats failing the run.
    if (!(rejection instanceof RateLimiterRes)) {
      this.logger.warn(`rate limiter unavailable, retrying: ${(rejection as Error).message}`);
      await this.sleep(500, signal);
      return;
    }
    // A little jitter so the waiters of many processes do not all ask again in the same millisecond.
    await this.sleep(rejection.msBeforeNext + Math.floor(Math.random() * 25), signal);
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
