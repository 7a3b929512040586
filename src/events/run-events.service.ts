import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { defer, filter, Observable, Subject } from 'rxjs';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { closeRedisClient, createRedisClient } from './redis-client';
import { isRunEvent, RUN_EVENTS_CHANNEL, RunEvent } from './run-event';

/**
 * Run and experiment events for the SSE stream. Embedded mode: an in-process Subject. Distributed
 * mode: every process publishes to one Redis pub/sub channel and each process that streams
 * subscribes to it, so an API process holding an SSE connection sees the events of any worker.
 * Events are best-effort notifications (PostgreSQL holds the truth): publish never throws.
 */
@Injectable()
export class RunEventsService implements OnModuleDestroy {
  private readonly logger = new Logger(RunEventsService.name);
  private readonly events = new Subject<RunEvent>();
  private publisher: Redis | null = null;
  private subscriber: Redis | null = null;
  private subscription: Promise<void> | null = null;
  private closed = false;

  constructor(@InjectConfig() private readonly config: AppConfig) {}

  /** True when events travel through Redis (REDIS_URL set). */
  get distributed(): boolean {
    return this.config.redisUrl !== null;
  }

  /** Delivers an event to every stream of its experiment, in this process or (distributed) any other. */
  async publish(event: RunEvent): Promise<void> {
    if (this.closed) return;
    if (!this.distributed) {
      this.events.next(event);
      return;
    }
    try {
      // Local streams receive it back through the subscription, like every other process.
      await this.redisPublisher().publish(RUN_EVENTS_CHANNEL, JSON.stringify(event));
    } catch (error) {
      this.logger.warn(
        `event ${event.type} of experiment ${event.experiment_id} not published: ${(error as Error).message}`,
      );
    }
  }

  /**
   * The events of one experiment from now on. Subscribing starts the Redis subscription if needed;
   * await `ensureSubscribed()` first when no event may be missed. Completes on shutdown.
   */
  stream(experimentId: string): Observable<RunEvent> {
    return defer(() => {
      if (this.distributed) void this.ensureSubscribed().catch(() => undefined);
      return this.events;
    }).pipe(filter((event) => event.experiment_id === experimentId));
  }

  /** Resolves once this process receives the Redis channel (immediately in embedded mode). */
  ensureSubscribed(): Promise<void> {
    if (!this.distributed || this.closed) return Promise.resolve();
    if (!this.subscription) {
      const subscriber = createRedisClient(this.config.redisUrl as string, this.logger, 'events-subscriber');
      this.subscriber = subscriber;
      subscriber.on('message', (_channel: string, message: string) => this.receive(message));
      this.subscription = subscriber.subscribe(RUN_EVENTS_CHANNEL).then(
        () => undefined,
        (error: Error) => {
          // Let the next stream() try again (ioredis also resubscribes by itself on reconnect).
          this.subscription = null;
          throw error;
        },
      );
    }
    return this.subscription;
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.events.complete();
    await Promise.all(
      [this.publisher, this.subscriber].filter((c): c is Redis => c !== null).map((c) => closeRedisClient(c)),
    );
  }

  private receive(message: string): void {
    let event: unknown;
    try {
      event = JSON.parse(message);
    } catch {
      return;
    }
    if (isRunEvent(event)) this.events.next(event);
  }

  private redisPublisher(): Redis {
    this.publisher ??= createRedisClient(this.config.redisUrl as string, this.logger, 'events-publisher');
    return this.publisher;
  }
}
