import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Response } from 'express';
import { Subscription } from 'rxjs';
import { SseTicketService } from '../auth/sse-ticket.service';
import { Principal } from '../common/principal';
import { compareEventIds, type SequencedEvent } from '../events/event-log';
import { RunEvent } from '../events/run-event';
import { RunEventsService } from '../events/run-events.service';
import { ProjectRole } from '../projects/membership.entity';
import { ExperimentStatus } from '../domain/statuses';
import { ExperimentsService } from './experiments.service';

export const SSE_OPTIONS = Symbol('SSE_OPTIONS');

export interface SseOptions {
  /** Comment lines that keep proxies and load balancers from closing an idle stream. Default 15 s. */
  heartbeatMs?: number;
  /**
   * After the experiment's end is announced, how long events still in flight are forwarded before
   * the stream closes. The run that ends last and the run whose end completes the experiment may
   * publish in either order (other processes, Redis): without it a client could miss the last
   * run's event. Default 250 ms.
   */
  endGraceMs?: number;
}

const ENDED: readonly string[] = [ExperimentStatus.Completed, ExperimentStatus.Cancelled];
const isEnd = (event: RunEvent): boolean =>
  event.type === 'experiment.status' && typeof event.status === 'string' && ENDED.includes(event.status);

/**
 * GET /api/experiments/:id/events as server-sent events. Each event is
 * `id: <id>\nevent: <type>\ndata: <json>\n\n` (the JSON carries `type` too): first `experiment.progress`
 * with the current counts, then every event RunEventsService delivers for the experiment (run
 * state changes, scores, progress and status, from this or — through Redis — any other process),
 * heartbeat comments, and at the end the final `experiment.progress` and the
 * `experiment.status` (completed or cancelled) after which the server closes the stream.
 *
 * Ids are the positions of the experiment's event log (RunEventsService): a client that sends
 * `Last-Event-ID` gets the events after that one, in order, without the snapshot; when they cannot
 * all be given (unknown or trimmed position) it gets the snapshot as on a first connection. The
 * snapshot and the events the server makes up itself (final progress, a status found by polling)
 * carry the id of the last real event before them, so resuming from them loses nothing.
 */
@Injectable()
export class ExperimentEventsService {
  private readonly logger = new Logger(ExperimentEventsService.name);
  private readonly heartbeatMs: number;
  private readonly endGraceMs: number;

  constructor(
    private readonly experiments: ExperimentsService,
    private readonly runEvents: RunEventsService,
    private readonly tickets: SseTicketService,
    @Optional() @Inject(SSE_OPTIONS) options: SseOptions | null = null,
  ) {
    this.heartbeatMs = options?.heartbeatMs ?? 15_000;
    this.endGraceMs = options?.endGraceMs ?? 250;
  }

  /** A ticket for this experiment's stream, for a viewer. */
  async ticket(principal: Principal, id: string): Promise<{ ticket: string; expires_in: number }> {
    await this.experiments.findAccessible(principal, id, ProjectRole.Viewer);
    return this.tickets.issue(principal, id);
  }

  /** Checks access (viewer) before anything is written, so refusals are plain JSON errors. */
  async stream(principal: Principal, id: string, res: Response, lastEventId: string | null = null): Promise<void> {
    await this.experiments.findAccessible(principal, id, ProjectRole.Viewer);
    await new ExperimentEventStream(
      id,
      lastEventId,
      res,
      this.experiments,
      this.runEvents,
      this.logger,
      this.heartbeatMs,
      this.endGraceMs,
    ).start();
  }
}

/** One client's stream. */
class ExperimentEventStream {
  private closed = false;
  private ending = false;
  /** Events that arrive while the initial state is read; null once it is sent. */
  private buffer: SequencedEvent[] | null = [];
  /** The id of the last event sent (real or carried by a made-up one). */
  private position = '0-0';
  private subscription: Subscription | null = null;
  private resubscription: Subscription | null = null;
  /** A reconnect snapshot being read (events meanwhile are buffered as at the start). */
  private resyncing = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private endTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly id: string,
    private readonly lastEventId: string | null,
    private readonly res: Response,
    private readonly experiments: ExperimentsService,
    private readonly runEvents: RunEventsService,
    private readonly logger: Logger,
    private readonly heartbeatMs: number,
    private readonly endGraceMs: number,
  ) {}

  async start(): Promise<void> {
    const { res, id } = this;
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // nginx would otherwise buffer the stream.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    // The response's 'close' is the client going away (a request's 'close' only means its body was read).
    res.on('close', () => this.close());

    // Subscribe before reading the state, buffering meanwhile, so nothing between the two is lost
    // (in distributed mode once this process receives the Redis channel).
    try {
      await this.runEvents.ensureSubscribed();
    } catch (error) {
      this.logger.warn(
        `experiment ${id}: live events unavailable (${(error as Error).message}); heartbeats still end the stream`,
      );
    }
    if (this.closed) return;
    this.subscription = this.runEvents.sequenced(id).subscribe({
      next: (entry) => (this.buffer ? this.buffer.push(entry) : this.onEvent(entry)),
      error: (error: unknown) => {
        this.logger.warn(`event stream of experiment ${id} failed: ${(error as Error)?.message ?? error}`);
        this.close();
      },
      // The events service completes on shutdown.
      complete: () => this.close(),
    });
    this.resubscription = this.runEvents.resubscribed.subscribe(() => void this.resync());

    try {
      const replay = this.lastEventId === null ? null : await this.runEvents.since(id, this.lastEventId);
      let status: ExperimentStatus | null;
      if (replay !== null) {
        this.position = this.lastEventId as string;
        for (const entry of replay) this.onEvent(entry);
        status = await this.experiments.status(id);
      } else {
        // The position first: events after it are sent below, those up to it are in the counts.
        this.position = await this.runEvents.position(id);
        let progress;
        [status, progress] = await Promise.all([this.experiments.status(id), this.experiments.progress(id)]);
        this.write({ type: 'experiment.progress', experiment_id: id, status: status ?? undefined, progress });
      }
      this.drainBuffer();
      if (this.closed || this.ending) return;
      const over = this.endEvent(status);
      if (over) {
        this.write(over);
        return this.close();
      }
      this.heartbeat = setInterval(() => void this.beat(), this.heartbeatMs);
    } catch (error) {
      this.logger.warn(`event stream of experiment ${id}: ${(error as Error).message}`);
      this.close();
    }
  }

  /**
   * After the events connection came back from an outage: the events published meanwhile are lost,
   * so the client gets a fresh `experiment.progress` (as on a first connection) and, should the
   * experiment have ended meanwhile, its end.
   */
  private async resync(): Promise<void> {
    if (this.closed || this.ending || this.buffer || this.resyncing) return;
    this.resyncing = true;
    this.buffer = [];
    try {
      const latest = await this.runEvents.position(this.id);
      if (compareEventIds(latest, this.position) > 0) this.position = latest;
      const [status, progress] = await Promise.all([
        this.experiments.status(this.id),
        this.experiments.progress(this.id),
      ]);
      this.write({ type: 'experiment.progress', experiment_id: this.id, status: status ?? undefined, progress });
      this.drainBuffer();
      const over = this.endEvent(status);
      if (over) this.end(over);
    } catch (error) {
      this.logger.warn(
        `experiment ${this.id}: snapshot after the events connection came back: ${(error as Error).message}`,
      );
      this.drainBuffer();
    } finally {
      this.resyncing = false;
    }
  }

  /** The events buffered while the state was read, sent in order; from now on events go out as they come. */
  private drainBuffer(): void {
    const buffered = this.buffer ?? [];
    this.buffer = null;
    for (const entry of buffered) this.onEvent(entry);
  }

  /** The status event that ends the stream of an experiment in `status` (null: deleted), or null while it runs. */
  private endEvent(status: ExperimentStatus | null): RunEvent | null {
    if (status === null)
      return { type: 'experiment.status', experiment_id: this.id, status: ExperimentStatus.Cancelled, deleted: true };
    return ENDED.includes(status) ? { type: 'experiment.status', experiment_id: this.id, status } : null;
  }

  /** Events at or before the position were sent already (replayed, or counted in the snapshot). */
  private onEvent({ id, event }: SequencedEvent): void {
    if (compareEventIds(id, this.position) <= 0) return;
    this.position = id;
    if (isEnd(event)) this.end(event);
    else this.write(event);
  }

  /** Forwards what is still in flight for a moment, then the final counts, the status, and closes. */
  private end(statusEvent: RunEvent): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.endTimer = setTimeout(() => {
      void this.experiments
        .progress(this.id)
        .then((progress) =>
          this.write({ type: 'experiment.progress', experiment_id: this.id, status: statusEvent.status, progress }),
        )
        .catch((error: unknown) =>
          this.logger.warn(`experiment ${this.id}: final progress: ${(error as Error).message}`),
        )
        .finally(() => {
          this.write(statusEvent);
          this.close();
        });
    }, this.endGraceMs);
  }

  /**
   * A heartbeat comment, and a look at the status: should the event announcing the end have been
   * lost (a publisher that died), the stream still ends; a deleted experiment ends it too.
   */
  private async beat(): Promise<void> {
    if (this.closed || this.ending) return;
    this.res.write(': heartbeat\n\n');
    try {
      const over = this.endEvent(await this.experiments.status(this.id));
      if (over) this.end(over);
    } catch (error) {
      this.logger.warn(`heartbeat of experiment ${this.id}: ${(error as Error).message}`);
    }
  }

  private write(event: RunEvent): void {
    if (this.closed) return;
    this.res.write(`id: ${this.position}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.unsubscribe();
    this.resubscription?.unsubscribe();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.endTimer) clearTimeout(this.endTimer);
    if (!this.res.writableEnded) this.res.end();
  }
}
