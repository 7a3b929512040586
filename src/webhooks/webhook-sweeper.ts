import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { WEBHOOK_BACKGROUND_AUTOSTART } from './outbox-relay';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDispatcher } from './webhook-dispatcher';

const PAGE = 500;
/** Overdue deliveries checked per sweep; the scan resumes where it stopped. */
const MAX_CHECKED_PER_SWEEP = 5000;

export interface WebhookSweepResult {
  /** Deliveries whose sender died mid-attempt, due again. */
  interrupted: number;
  /** Overdue pending deliveries with no live job, dispatched again. */
  redispatched: number;
}

/**
 * No delivery waits forever: one whose sender died mid-attempt (claim expired) is due again at once,
 * and a pending delivery overdue by more than five poll intervals with nothing sending it (Redis
 * lost the job, the process restarted, it died between commit and dispatch) is dispatched again.
 * Conditional updates and the deliverer's claim make several sweepers and duplicates harmless.
 */
@Injectable()
export class WebhookSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookSweeper.name);
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<WebhookSweepResult> | null = null;
  private cursor: { at: Date; id: string } | null = null;
  private stopped = false;

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    @Inject(WebhookDispatcher) private readonly dispatcher: WebhookDispatcher,
    @InjectConfig() private readonly config: AppConfig,
    @Optional() @Inject(WEBHOOK_BACKGROUND_AUTOSTART) private readonly autostart: boolean | null = null,
  ) {}

  onApplicationBootstrap(): void {
    if (this.autostart === false) return;
    const tick = async () => {
      await this.sweepOnce().catch((error: Error) => this.logger.warn(`webhook sweep failed: ${error.message}`));
      if (this.stopped) return;
      this.timer = setTimeout(() => void tick(), this.config.webhooks.pollIntervalMs);
      this.timer.unref();
    };
    this.timer = setTimeout(() => void tick(), 0);
    this.timer.unref();
  }

  sweepOnce(): Promise<WebhookSweepResult> {
    this.current ??= this.sweep().finally(() => (this.current = null));
    return this.current;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current?.catch(() => undefined);
  }

  private async sweep(): Promise<WebhookSweepResult> {
    let interrupted = 0;
    for (;;) {
      const released = await this.deliveries.releaseExpired(PAGE);
      if (released.length > 0) {
        this.logger.warn(`${released.length} webhook delivery(ies) interrupted mid-attempt, sending again`);
        await this.dispatcher.dispatch(released);
      }
      interrupted += released.length;
      if (released.length < PAGE) break;
    }
    let redispatched = 0;
    let checked = 0;
    const graceMs = 5 * this.config.webhooks.pollIntervalMs;
    while (checked < MAX_CHECKED_PER_SWEEP && !this.stopped) {
      const page = await this.deliveries.overdue(graceMs, PAGE, this.cursor);
      if (page.length === 0) {
        this.cursor = null;
        break;
      }
      const last = page[page.length - 1];
      this.cursor = { at: last.next_attempt_at as Date, id: last.id };
      checked += page.length;
      const lost = await this.dispatcher.undelivered(page);
      if (lost.length === 0) continue;
      this.logger.warn(`${lost.length} overdue webhook delivery(ies) had nothing sending them, dispatching again`);
      await this.dispatcher.dispatch(lost);
      redispatched += lost.length;
    }
    return { interrupted, redispatched };
  }
}
