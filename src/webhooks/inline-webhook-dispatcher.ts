import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { WebhookDeliverer } from './webhook-deliverer';
import { delayOf, WebhookDispatcher } from './webhook-dispatcher';
import { type DueDelivery } from './webhooks.constants';

/**
 * Embedded mode (no REDIS_URL): deliveries are sent by this process, WEBHOOK_CONCURRENCY at once,
 * retries on timers. Nothing here survives a restart and nothing needs to: PostgreSQL keeps every
 * pending delivery, and the sweeper dispatches the overdue ones again.
 */
@Injectable()
export class InlineWebhookDispatcher extends WebhookDispatcher implements OnModuleDestroy {
  private readonly logger = new Logger(InlineWebhookDispatcher.name);
  private queue: string[] = [];
  private head = 0;
  /** Waiting for a slot, being sent, or waiting for a timer: a second dispatch is a no-op. */
  private readonly tracked = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private stopped = false;

  constructor(
    private readonly deliverer: WebhookDeliverer,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    super();
  }

  dispatch(deliveries: DueDelivery[]): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const now = Date.now();
    for (const delivery of deliveries) {
      if (this.tracked.has(delivery.id)) continue;
      this.tracked.add(delivery.id);
      const delay = delayOf(delivery, now);
      if (delay === 0) {
        this.queue.push(delivery.id);
        continue;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (this.stopped) return;
        this.queue.push(delivery.id);
        this.pump();
      }, delay);
      timer.unref();
      this.timers.add(timer);
    }
    this.pump();
    return Promise.resolve();
  }

  undelivered(deliveries: DueDelivery[]): Promise<DueDelivery[]> {
    return Promise.resolve(deliveries.filter((d) => !this.tracked.has(d.id)));
  }

  /** Nothing waiting, nothing being sent (timers for later retries aside). */
  get idle(): boolean {
    return this.running === 0 && this.head >= this.queue.length;
  }

  onModuleDestroy(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.queue = [];
    this.head = 0;
  }

  private pump(): void {
    while (!this.stopped && this.running < this.config.webhooks.concurrency && this.head < this.queue.length) {
      const id = this.queue[this.head++];
      this.running++;
      void this.send(id).finally(() => {
        this.running--;
        this.pump();
      });
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private async send(id: string): Promise<void> {
    let next: DueDelivery | null = null;
    try {
      next = await this.deliverer.deliver(id);
    } catch (error) {
      // PostgreSQL unreachable or the like: the claim expires and the sweeper sends it again.
      this.logger.warn(`delivery ${id}: ${(error as Error).message}`);
    } finally {
      this.tracked.delete(id);
    }
    if (next) await this.dispatch([next]);
  }
}
