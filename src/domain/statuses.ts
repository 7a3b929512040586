/** A run's life: pending → running → completed | failed | cancelled (pending may also be cancelled). */
export enum RunStatus {
  Pending = 'pending',
  Running = 'running',
  Completed = 'completed',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = [RunStatus.Completed, RunStatus.Failed, RunStatus.Cancelled];

/** An experiment's life: draft → running (launched) → completed | cancelled. */
export enum ExperimentStatus {
  Draft = 'draft',
  Running = 'running',
  Completed = 'completed',
  Cancelled = 'cancelled',
}
