import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { defer, filter, map, Observable, Subject } from 'rxjs';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { closeRedisClient, createRedisClient } from './redis-client';
import { EVENT_ID, EVENT_LOG_MAX_ENTRIES, InMemoryEventLog, type SequencedEvent } from './event-log';
import { isRunEvent, RUN_EVENTS_CHANNEL, RunEvent } from './run-event';

/** Redis stream of one experiment's events (distributed mode), kept for resumption. */
export const eventLogKey = (experimentId: string): string => `promptlooper:events:${experimentId}`;
/** A valid id that no log holds: resuming from it always starts over with the snapshot. */
const UNKNOWN_POSITION = '0-1';
/** An experiment's log expires this long after its last event. */
const EVENT_LOG_TTL_MS = 24 * 3600_000;
/**
 * Appends to the experiment's stream and publishes `<id>\n<json>` in one atomic step, so every
 * subscriber receives events in the order of their ids (two separate commands from two processes
 * could be published out of order, and a client resuming after the later one would lose the other).
 */
const APPEND_AND_PUBLISH = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], id .. '\\n' .. ARGV[1])
return id`;

/**
 * Run and experiment events for the SSE stream. Embedded mode: an in-process Subject. Distributed
 * mode: every process publishes to one Redis pub/sub channel and each process that streams
 * subscribes to it, so an API process holding an SSE connection sees the events of any worker.
 * Events are best-effort notifications (PostgreSQL holds the truth): publish never throws.
 *
 * Every event gets an id, increasing per experiment across processes (see event-log.ts), and each
 * experiment's recent events are kept (Redis stream / memory) so a client can resume after an id.
 */
@Injectable()
export class RunEventsService implements OnModuleDestroy {
  private readonly logger = new Logger(RunEventsService.name);
  private readonly events = new Subject<SequencedEvent>();
  private readonly resubscriptions = new Subject<void>();
  private readonly memoryLog = new InMemoryEventLog();
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
      this.events.next(this.memoryLog.append(event));
      return;
    }
    try {
      // Local streams receive it back through the subscription, like every other process.
      await this.redisPublisher().eval(
        APPEND_AND_PUBLISH,
        1,
        eventLogKey(event.experiment_id),
        JSON.stringify(event),
        EVENT_LOG_MAX_ENTRIES,
        EVENT_LOG_TTL_MS,
        RUN_EVENTS_CHANNEL,
      );
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
    return this.sequenced(experimentId).pipe(map((entry) => entry.event));
  }

  /**
   * Every event this process publishes or receives, of any experiment, without starting a Redis
   * subscription (embedded mode: every event of the process). Completes on shutdown.
   */
  local(): Observable<RunEvent> {
    return this.events.pipe(map((entry) => entry.event));
  }

  /** Like stream(), with each event's id. */
  sequenced(experimentId: string): Observable<SequencedEvent> {
    return defer(() => {
      if (this.distributed) void this.ensureSubscribed().catch(() => undefined);
      return this.events;
    }).pipe(filter((entry) => entry.event.experiment_id === experimentId));
  }

  /**
   * The id of the experiment's latest event (a zero position when it has none). Never throws: with
   * Redis unreachable it is `0-1`, a position no log holds (a client resuming from it gets the snapshot).
   */
  async position(experimentId: string): Promise<string> {
    if (!this.distributed) return this.memoryLog.position(experimentId);
    try {
      const [latest] = await this.redisPublisher().xrevrange(eventLogKey(experimentId), '+', '-', 'COUNT', 1);
      return latest?.[0] ?? '0-0';
    } catch (error) {
      this.logger.warn(`event log of experiment ${experimentId} unavailable: ${(error as Error).message}`);
      return UNKNOWN_POSITION;
    }
  }

  /**
   * The experiment's events after `lastId` (an id of its stream or its zero position), or null
   * when they cannot all be given: an id that is not (or no longer) in its log, of another
   * experiment or an earlier embedded process, or a log trimmed since.
   */
  async since(experimentId: string, lastId: string): Promise<SequencedEvent[] | null> {
    if (!EVENT_ID.test(lastId)) return null;
    if (!this.distributed) return this.memoryLog.since(experimentId, lastId);
    try {
      return await this.redisSince(experimentId, lastId);
    } catch (error) {
      this.logger.warn(`event log of experiment ${experimentId} unavailable: ${(error as Error).message}`);
      return null;
    }
  }

  private async redisSince(experimentId: string, lastId: string): Promise<SequencedEvent[] | null> {
    const client = this.redisPublisher();
    const key = eventLogKey(experimentId);
    if (lastId === '0-0') {
      // MAXLEN ~ keeps at least that many entries: fewer means nothing was ever trimmed.
      if ((await client.xlen(key)) >= EVENT_LOG_MAX_ENTRIES) return null;
    }
    const entries = await client.xrange(key, lastId, '+');
    if (lastId !== '0-0') {
      if (entries[0]?.[0] !== lastId) return null;
      entries.shift();
    }
    const events: SequencedEvent[] = [];
    for (const [id, fields] of entries) {
      const event = parseEvent(fields[1]);
      if (event) events.push({ id, event });
    }
    return events;
  }

  /**
   * Emits each time this process receives the Redis channel again after losing its connection:
   * events published meanwhile never reached it (nor, mostly, the log), so streams send a snapshot.
   * Never emits in embedded mode; completes on shutdown.
   */
  get resubscribed(): Observable<void> {
    return this.resubscriptions.asObservable();
  }

  /** Resolves once this process receives the Redis channel (immediately in embedded mode). */
  ensureSubscribed(): Promise<void> {
    if (!this.distributed || this.closed) return Promise.resolve();
    if (!this.subscription) {
      const subscriber = createRedisClient(this.config.redisUrl as string, this.logger, 'events-subscriber');
      this.subscriber = subscriber;
      subscriber.on('message', (_channel: string, message: string) => this.receive(message));
      let lost = false;
      subscriber.on('close', () => (lost = true));
      subscriber.on('ready', () => {
        if (!lost || this.closed) return;
        lost = false;
        // ioredis resubscribes by itself right after 'ready'; this SUBSCRIBE is answered after that
        // one, so once it resolves every event published from then on reaches this process.
        subscriber.subscribe(RUN_EVENTS_CHANNEL).then(
          () => {
            this.logger.log('events channel received again: streams send a fresh snapshot');
            this.resubscriptions.next();
          },
          (error: Error) => this.logger.warn(`events channel not received again: ${error.message}`),
        );
      });
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
    this.resubscriptions.complete();
    await Promise.all(
      [this.publisher, this.subscriber].filter((c): c is Redis => c !== null).map((c) => closeRedisClient(c)),
    );
  }

  private receive(message: string): void {
    const newline = message.indexOf('\n');
    const id = message.slice(0, newline);
    const event = newline > 0 && EVENT_ID.test(id) ? parseEvent(message.slice(newline + 1)) : null;
    if (event) this.events.next({ id, event });
  }

  private redisPublisher(): Redis {
    this.publisher ??= createRedisClient(this.config.redisUrl as string, this.logger, 'events-publisher');
    return this.publisher;
  }
}

function parseEvent(json: string | undefined): RunEvent | null {
  try {
    const event: unknown = JSON.parse(json ?? '');
    return isRunEvent(event) ? event : null;
  } catch {
    return null;
  }
}
