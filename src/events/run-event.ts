import { type RunStatus } from '../domain/statuses';

export type RunEventType = 'run.status' | 'run.scored' | 'experiment.progress' | 'experiment.status';

/** Counts of an experiment's runs by state (the `progress` of GET /api/experiments/{id}). */
export interface ExperimentProgress {
  total: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
  cached: number;
}

/**
 * One event of an experiment's stream (snake_case: it goes on the wire as is, in SSE `data:`).
 * - `run.status`: a run changed state (`status`; `error` when failed, `cache_hit` when completed).
 * - `run.scored`: a run's automatic scores were written.
 * - `experiment.progress`: `progress` counts (throttled: at most about one per second per experiment).
 * - `experiment.status`: the experiment's own status changed (`status`).
 */
export interface RunEvent {
  type: RunEventType;
  experiment_id: string;
  run_id?: string;
  status?: RunStatus | string;
  error?: string | null;
  cache_hit?: boolean;
  progress?: ExperimentProgress;
  /** `experiment.status` cancelled by its budget: `budget_exhausted`. */
  stop_reason?: string;
  [key: string]: unknown;
}

/** The Redis pub/sub channel that carries events between processes in distributed mode. */
export const RUN_EVENTS_CHANNEL = 'promptlooper:events';

export function isRunEvent(value: unknown): value is RunEvent {
  const v = value as RunEvent | null;
  return typeof v === 'object' && v !== null && typeof v.type === 'string' && typeof v.experiment_id === 'string';
}
