import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type DataSourceOptions } from 'typeorm';

/** Connections of the delivery side's own pool (relay, claims, attempt records). */
export const WEBHOOK_POOL_SIZE = 4;

/**
 * The delivery side's own small connection pool, apart from the one runs execute on, so relaying
 * and recording deliveries never queue behind run statements (nor runs behind them).
 *
 * Its sessions commit with `synchronous_commit = off`: a commit returns before its WAL reaches disk.
 * Everything written here is bookkeeping of an at-least-once protocol (an outbox row marked
 * dispatched with its deliveries, a claim, an attempt's outcome), so what a PostgreSQL crash could
 * lose in its last few hundred milliseconds is redone, never lost: the events are undispatched again
 * or the delivery is pending again, and it is sent again with the same `webhook-id`. The outbox
 * insert itself commits with the change that caused it, on the application's pool, durably.
 */
@Injectable()
export class WebhookDatabase implements OnApplicationShutdown {
  private own: DataSource | null = null;
  private pending: Promise<DataSource> | null = null;

  constructor(private readonly main: DataSource) {}

  /** The pool, connected on first use. */
  async dataSource(): Promise<DataSource> {
    if (this.own?.isInitialized) return this.own;
    this.own ??= new DataSource(this.options());
    if (!this.own.isInitialized) {
      this.pending ??= this.own.initialize().finally(() => (this.pending = null));
      await this.pending;
    }
    return this.own;
  }

  /** After every onModuleDestroy (the relay and senders stop first), like the application pool. */
  async onApplicationShutdown(): Promise<void> {
    await this.pending?.catch(() => undefined);
    const own = this.own;
    this.own = null;
    if (own?.isInitialized) await own.destroy();
  }

  private options(): DataSourceOptions {
    const main = this.main.options;
    const extra = (main.extra ?? {}) as Record<string, unknown>;
    return {
      ...main,
      entities: [],
      migrations: [],
      subscribers: [],
      synchronize: false,
      migrationsRun: false,
      extra: { ...extra, max: WEBHOOK_POOL_SIZE, options: '-c synchronous_commit=off' },
    };
  }
}
