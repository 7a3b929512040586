import { type DueDelivery } from './webhooks.constants';

/**
 * Hands deliveries to whatever sends them: the Bull queue `webhooks` (REDIS_URL set) or this process.
 * Call only after the transaction that made them due committed. At-least-once: the deliverer's
 * conditional claim lets one attempt through per due time.
 */
export abstract class WebhookDispatcher {
  /**
   * `fresh`: deliveries just fanned out (never enqueued before), enqueued in bulk without looking
   * for earlier jobs. Otherwise (sweeper, redelivery) an earlier job is promoted or replaced.
   */
  abstract dispatch(deliveries: DueDelivery[], options?: { fresh?: boolean }): Promise<void>;
  /** The deliveries among these that nothing here is going to send (no queued, delayed or active job). */
  abstract undelivered(deliveries: DueDelivery[]): Promise<DueDelivery[]>;
}

/** Milliseconds until a delivery is due (0 when due already). */
export function delayOf(delivery: DueDelivery, now = Date.now()): number {
  return delivery.next_attempt_at ? Math.max(0, new Date(delivery.next_attempt_at).getTime() - now) : 0;
}
