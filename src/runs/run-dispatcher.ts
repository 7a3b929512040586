/**
 * Hands committed pending runs to execution. Implementations: Bull queue (REDIS_URL set) or
 * in-process. Callers invoke it only after the transaction that inserted the runs committed.
 * Delivery is at-least-once; the executor makes the effect exactly-once.
 */
export abstract class RunDispatcher {
  abstract dispatch(runIds: string[]): Promise<void>;
  /** For /api/health: `inline` in embedded mode, else whether the queue's Redis answers. */
  abstract health(): Promise<'up' | 'down' | 'inline'>;
}
