import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { Client } from 'pg';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { OUTBOX_NOTIFY_CHANNEL } from '../outbox/outbox-event-types';
import { OutboxRepository } from '../outbox/outbox.repository';
import { WebhookDatabase } from './webhook-database';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDispatcher } from './webhook-dispatcher';

/** false: nothing starts by itself (tests call `relayOnce()`). */
export const WEBHOOK_BACKGROUND_AUTOSTART = Symbol('WEBHOOK_BACKGROUND_AUTOSTART');

const BATCH = 500;
/**
 * Wake-ups this close together make one pass: while runs end at hundreds per second each commit
 * notifies, and one pass per notification would claim one event at a time.
 */
const COALESCE_MS = 20;

/**
 * Moves outbox rows to deliveries: claims undispatched events (SKIP LOCKED, so every delivering
 * process can run one), inserts one pending delivery per subscription that wants each, commits
 * both together, then dispatches them. Wakes on the NOTIFY an outbox insert sends at commit, and
 * polls every WEBHOOK_POLL_INTERVAL_MS in case a notification was missed (its connection dropped).
 * Notifications within COALESCE_MS of each other make one pass; relaying runs on the delivery
 * side's own pool (WebhookDatabase), apart from run execution.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxRelay.name);
  private timer: NodeJS.Timeout | null = null;
  private listener: Client | null = null;
  private running: Promise<number> | null = null;
  private again = false;
  private wake: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly db: WebhookDatabase,
    private readonly outbox: OutboxRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    @Inject(WebhookDispatcher) private readonly dispatcher: WebhookDispatcher,
    @InjectConfig() private readonly config: AppConfig,
    @Optional() @Inject(WEBHOOK_BACKGROUND_AUTOSTART) private readonly autostart: boolean | null = null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.autostart === false) return;
    await this.listen();
    const tick = () => {
      if (this.stopped) return;
      void this.kick().finally(() => {
        if (this.stopped) return;
        this.timer = setTimeout(tick, this.config.webhooks.pollIntervalMs);
        this.timer.unref();
      });
      if (!this.listener) void this.listen();
    };
    tick();
  }

  /** Relays now; a call while a pass runs asks for one more pass after it. */
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running.then(() => undefined);
    }
    this.running = this.drain()
      .catch((error: Error) => {
        this.logger.warn(`outbox relay failed: ${error.message}`);
        return 0;
      })
      .then((claimed) => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          void this.kick();
        } else if (claimed > 0) this.soon(); // events flowing: their writers may not have notified
        return claimed;
      });
    return this.running.then(() => undefined);
  }

  /** A relay pass within COALESCE_MS: the notifications that arrive meanwhile join it. */
  private soon(): void {
    if (this.wake || this.stopped) return;
    this.wake = setTimeout(() => {
      this.wake = null;
      void this.kick();
    }, COALESCE_MS);
    this.wake.unref();
  }

  /** One pass until the outbox is empty; returns the events claimed. */
  async relayOnce(): Promise<number> {
    return this.drain();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.wake) clearTimeout(this.wake);
    await this.running?.catch(() => undefined);
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }

  /** Claims until the outbox is empty; returns the events claimed. */
  private async drain(): Promise<number> {
    let claimed = 0;
    const ds = await this.db.dataSource();
    while (!this.stopped) {
      const [events, due] = await ds.transaction(async (manager) => {
        const claimed = await this.outbox.claimUndispatched(manager, BATCH);
        return [claimed, await this.deliveries.fanOut(manager, claimed)] as const;
      });
      if (due.length > 0) await this.dispatcher.dispatch(due, { fresh: true });
      claimed += events.length;
      if (events.length < BATCH) break;
    }
    return claimed;
  }

  private async listen(): Promise<void> {
    if (this.stopped || !this.config.databaseUrl) return;
    const client = new Client({ connectionString: this.config.databaseUrl });
    const drop = (why: string) => {
      if (this.listener !== client) return;
      this.listener = null;
      this.logger.warn(`outbox notifications lost (${why}); polling every ${this.config.webhooks.pollIntervalMs} ms`);
      void client.end().catch(() => undefined);
    };
    try {
      this.listener = client;
      client.on('error', (error) => drop(error.message));
      client.on('end', () => drop('connection ended'));
      client.on('notification', () => this.soon());
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_NOTIFY_CHANNEL}`);
    } catch (error) {
      drop((error as Error).message);
    }
  }
}
