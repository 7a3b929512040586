import type { JobOptions } from 'bull';
import { type AppConfig } from '../config/configuration';

/** The Bull queue that carries runs to workers. */
export const RUNS_QUEUE = 'runs';

/** The one job type of the `runs` queue. */
export const EXECUTE_RUN_JOB = 'execute-run';

/** Redis key prefix of the queue (`promptlooper:runs:*`), so it can share a Redis with other apps. */
export const QUEUE_PREFIX = 'promptlooper';

/** Payload of an `execute-run` job: the run id is all a worker needs, PostgreSQL has the rest. */
export interface RunJobData {
  runId: string;
  /** The run's `attempt` when the job was enqueued (also in the job id). */
  attempt: number;
}

/**
 * Deliveries of one job. A retryable provider failure (after LlmClient's own retries) releases the
 * run to pending and the queue delivers it again after an exponential backoff; the last delivery
 * fails the run with the reason. The inline dispatcher applies the same policy in memory.
 */
export const RUN_JOB_ATTEMPTS = 3;
export const RUN_RETRY_BASE_DELAY_MS = 1000;

/**
 * How often a run may be handed out again after its lease expired (its worker died while executing
 * it), before the sweeper fails it: a run that kills every worker must not loop forever. Lost jobs
 * and other infrastructure faults do not count (they bump `attempt`, not `lease_expiries`).
 */
export const MAX_RUN_REQUEUES = 5;

/**
 * Deterministic job id: a duplicate dispatch of the same run and attempt is dropped by Bull, and a
 * run handed out again (attempt + 1) gets a fresh id, since Bull ignores an id it still holds.
 */
export function runJobId(runId: string, attempt: number): string {
  return `${runId}:${attempt}`;
}

/** Wait before delivery number `delivery + 1` (delivery ≥ 1): Bull's exponential backoff. */
export function runRetryDelayMs(delivery: number): number {
  return RUN_RETRY_BASE_DELAY_MS * 2 ** (delivery - 1);
}

/** Default options of every `execute-run` job; finished jobs are kept up to JOB_RETENTION_COUNT. */
export function runJobOptions(config: Pick<AppConfig, 'jobRetentionCount'>): JobOptions {
  return {
    attempts: RUN_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: RUN_RETRY_BASE_DELAY_MS },
    removeOnComplete: config.jobRetentionCount,
    removeOnFail: config.jobRetentionCount,
  };
}
