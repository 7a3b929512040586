import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { WEBHOOK_BACKGROUND_AUTOSTART } from './outbox-relay';
import { OutboxRepository } from '../outbox/outbox.repository';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDispatcher } from './webhook-dispatcher';

const PAGE = 500;
/** Overdue deliveries checked per sweep; the scan resumes where it stopped. */
const MAX_CHECKED_PER_SWEEP = 5000;
/** Retention runs at most this often per process, in pages of PRUNE_PAGE rows, at most PRUNE_PAGES per run. */
const PRUNE_INTERVAL_MS = 60_000;
const PRUNE_PAGE = 1000;
const PRUNE_PAGES = 50;

export interface WebhookSweepResult {
  /** Deliveries whose sender died mid-attempt, due again. */
  interrupted: number;
  /** Overdue pending deliveries with no live job, dispatched again. */
  redispatched: number;
  /** Retention: finished deliveries, their attempt rows and relayed events deleted (0 between retention runs). */
  pruned: { deliveries: number; attempts: number; events: number };
}

/**
 * No delivery waits forever: one whose sender died mid-attempt (claim expired) is due again at once,
 * and a pending delivery overdue by more than five poll intervals with nothing sending it (Redis
 * lost the job, the process restarted, it died between commit and dispatch) is dispatched again.
 * Conditional updates and the deliverer's claim make several sweepers and duplicates harmless.
 * Once a minute it also applies the retention (WEBHOOK_RETENTION_DAYS, default 30; 0 keeps everything):
 * deliveries finished longer ago than that go with their attempt log, then the relayed events no
 * delivery refers to any more, oldest first, in pages (a backlog is worked off over several runs).
 */
@Injectable()
export class WebhookSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookSweeper.name);
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<WebhookSweepResult> | null = null;
  private cursor: { at: Date; id: string } | null = null;
  private stopped = false;
  /** performance.now() of the last retention run; null: none yet (the first sweep runs one). */
  private prunedAt: number | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxRepository,
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
    const due = this.prunedAt === null || performance.now() - this.prunedAt >= PRUNE_INTERVAL_MS;
    return { interrupted, redispatched, pruned: due ? await this.prune() : { deliveries: 0, attempts: 0, events: 0 } };
  }

  /** One retention run (the sweeps make one a minute; tests and operators may call it at any time). */
  async prune(): Promise<WebhookSweepResult['pruned']> {
    const pruned = { deliveries: 0, attempts: 0, events: 0 };
    const days = this.config.webhooks.retentionDays;
    this.prunedAt = performance.now();
    if (days === 0) return pruned;
    for (let page = 0; page < PRUNE_PAGES && !this.stopped; page++) {
      const gone = await this.deliveries.pruneFinished(days, PRUNE_PAGE);
      pruned.deliveries += gone.deliveries;
      pruned.attempts += gone.attempts;
      if (gone.deliveries < PRUNE_PAGE) break;
    }
    for (let page = 0; page < PRUNE_PAGES && !this.stopped; page++) {
      const gone = await this.outbox.pruneDispatched(this.dataSource.manager, days, PRUNE_PAGE);
      pruned.events += gone;
      if (gone < PRUNE_PAGE) break;
    }
    if (pruned.deliveries + pruned.events > 0) {
      this.logger.log(
        `webhook retention (${days} days): ${pruned.deliveries} finished delivery(ies) with ${pruned.attempts} logged attempt(s) and ${pruned.events} relayed event(s) deleted`,
      );
    }
    return pruned;
  }
}
