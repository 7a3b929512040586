import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { RunStatus } from '../domain/statuses';
import { RunEventsService } from '../events/run-events.service';
import { RUN_JOB_ATTEMPTS, runRetryDelayMs } from './execution.constants';
import { RunExecutor, RunOutcome } from './run-executor';
import { PendingRunRef, TrackingRunDispatcher } from './tracking-run-dispatcher';

/**
 * Embedded mode (no REDIS_URL): runs execute in this process through the same RunExecutor, at
 * most WORKER_CONCURRENCY at once, with the queue's retry policy (RUN_JOB_ATTEMPTS deliveries,
 * exponential backoff). Nothing here survives a restart, and nothing needs to: PostgreSQL keeps the
 * pending runs and the sweeper dispatches them again on start-up.
 *
 * A run cancelled while it waits (its experiment cancelled, its budget spent, or the run itself)
 * leaves the queue when its `run.status` cancelled event is published in this process: a
 * cancelled 12,000-run experiment costs no claim per run before later runs get a slot. The
 * claim stays the guard (a cancel whose event is lost only costs that no-op claim).
 */
@Injectable()
export class InlineRunDispatcher extends TrackingRunDispatcher implements OnModuleDestroy {
  private readonly logger = new Logger(InlineRunDispatcher.name);
  /**
   * FIFO of run ids waiting for a slot; `head` is the next one (no O(n) shift). An entry whose run
   * is no longer `queued` in `tracked` (withdrawn, or queued again further on) is passed over.
   */
  private queue: string[] = [];
  private head = 0;
  /** Queued, executing or waiting for a retry: a second dispatch of these is a no-op. */
  private readonly tracked = new Map<string, 'queued' | 'active' | 'backoff'>();
  private queuedCount = 0;
  private readonly deliveries = new Map<string, number>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly cancellations: Subscription;
  private running = 0;
  private stopped = false;

  constructor(
    private readonly executor: RunExecutor,
    @InjectConfig() private readonly config: AppConfig,
    events: RunEventsService,
  ) {
    super();
    this.cancellations = events.local().subscribe((event) => {
      if (event.type === 'run.status' && event.status === RunStatus.Cancelled && event.run_id)
        this.withdraw(event.run_id);
    });
  }

  dispatch(runIds: string[]): Promise<void> {
    if (this.stopped) return Promise.resolve();
    for (const id of runIds) {
      if (this.tracked.has(id)) continue;
      this.enqueue(id);
    }
    this.pump();
    return Promise.resolve();
  }

  /**
   * Forgets a run that ended without executing here (cancelled): its queued entry or pending retry
   * is dropped. A run already executing is left to the executor, which sees the cancel itself.
   */
  withdraw(runId: string): void {
    const state = this.tracked.get(runId);
    if (state === undefined || state === 'active') return;
    if (state === 'queued') this.queuedCount--;
    const timer = this.retryTimers.get(runId);
    if (timer) clearTimeout(timer);
    this.retryTimers.delete(runId);
    this.tracked.delete(runId);
    this.deliveries.delete(runId);
  }

  health(): Promise<'inline'> {
    return Promise.resolve('inline');
  }

  undelivered(runs: PendingRunRef[]): Promise<PendingRunRef[]> {
    return Promise.resolve(runs.filter((run) => !this.tracked.has(run.id)));
  }

  /** Runs waiting for a slot (not counting retries waiting for their backoff). */
  get queued(): number {
    return this.queuedCount;
  }

  onModuleDestroy(): void {
    // In-flight executions are aborted and released by RunExecutor.shutdown().
    this.stopped = true;
    this.cancellations.unsubscribe();
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    this.queue = [];
    this.head = 0;
    this.queuedCount = 0;
  }

  private enqueue(runId: string): void {
    this.tracked.set(runId, 'queued');
    this.queuedCount++;
    this.queue.push(runId);
  }

  private pump(): void {
    while (!this.stopped && this.running < this.config.workerConcurrency && this.head < this.queue.length) {
      const id = this.queue[this.head++];
      if (this.tracked.get(id) !== 'queued') continue;
      this.tracked.set(id, 'active');
      this.queuedCount--;
      this.running++;
      void this.deliver(id).finally(() => {
        this.running--;
        this.pump();
      });
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private async deliver(runId: string): Promise<void> {
    const delivery = (this.deliveries.get(runId) ?? 0) + 1;
    let outcome: RunOutcome;
    try {
      outcome = await this.executor.execute(runId, { finalAttempt: delivery >= RUN_JOB_ATTEMPTS });
    } catch (error) {
      this.logger.warn(`run ${runId}: delivery ${delivery} failed: ${(error as Error).message}`);
      outcome = { kind: 'retry', error: (error as Error).message };
    }
    if (outcome.kind === 'retry' && !this.stopped && delivery < RUN_JOB_ATTEMPTS) {
      this.deliveries.set(runId, delivery);
      this.tracked.set(runId, 'backoff');
      const timer = setTimeout(() => {
        this.retryTimers.delete(runId);
        if (this.stopped || this.tracked.get(runId) !== 'backoff') return;
        this.enqueue(runId);
        this.pump();
      }, runRetryDelayMs(delivery));
      timer.unref();
      this.retryTimers.set(runId, timer);
      return;
    }
    // Done, or out of deliveries with the run still held: its lease expires and the sweeper takes it.
    this.deliveries.delete(runId);
    this.tracked.delete(runId);
  }
}
