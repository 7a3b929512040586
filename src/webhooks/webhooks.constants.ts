import type { JobOptions } from 'bull';

/** The Bull queue that carries webhook deliveries to workers (apart from `runs`, with its own concurrency). */
export const WEBHOOKS_QUEUE = 'webhooks';
export const DELIVER_WEBHOOK_JOB = 'deliver-webhook';

export interface WebhookJobData {
  deliveryId: string;
  /** The delivery's `attempts` when the job was enqueued (also in the job id). */
  attempts: number;
}

/** A delivery waiting for its next attempt, as dispatchers see it. */
export interface DueDelivery {
  id: string;
  attempts: number;
  /** When the attempt is due (its retry delay); null or past: now. */
  next_attempt_at: Date | null;
}

/**
 * Retry delays after attempt 1, 2, …, as multiples of WEBHOOK_RETRY_BASE_MS: at the default base of
 * 5 s they are the contract's 5 s, 1 min, 10 min, 1 h, 6 h and 24 h. After the last one fails the
 * delivery is `failed` (seven attempts in all, over about 31 hours).
 */
export const RETRY_MULTIPLIERS = [1, 12, 120, 720, 4320, 17280] as const;
export const MAX_DELIVERY_ATTEMPTS = RETRY_MULTIPLIERS.length + 1;

/** Failed attempts in a row (any event) after which a subscription is disabled. */
export const MAX_CONSECUTIVE_FAILURES = 20;

/** Both secrets sign this long after a rotation. */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** Delay before attempt `attempt + 1` after attempt `attempt` failed, or null when none is left. Up to +10 % jitter. */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random): number | null {
  const multiplier = RETRY_MULTIPLIERS[attempt - 1];
  if (multiplier === undefined) return null;
  return Math.round(baseMs * multiplier * (1 + 0.1 * random()));
}

/** Deterministic job id: one job per delivery and attempt; a duplicate dispatch is dropped by Bull. */
export function webhookJobId(deliveryId: string, attempts: number): string {
  return `${deliveryId}:${attempts}`;
}

/** A delivery holds its claim this long: the request's timeout plus room to record the outcome. */
export function deliveryLeaseMs(timeoutMs: number): number {
  return 2 * timeoutMs + 1000;
}

export function webhookJobOptions(retention: number): JobOptions {
  // Retries are new delayed jobs written by the deliverer (PostgreSQL decides), not Bull's attempts.
  return { attempts: 1, removeOnComplete: retention, removeOnFail: retention };
}

/** Redis key prefix of the queue (`promptlooper:webhooks:*`), shared with the runs queue. */
export const WEBHOOKS_QUEUE_PREFIX = 'promptlooper';
