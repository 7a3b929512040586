import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { RUN_JOB_ATTEMPTS, runRetryDelayMs } from './execution.constants';
import { RunExecutor, RunOutcome } from './run-executor';
import { PendingRunRef, TrackingRunDispatcher } from './tracking-run-dispatcher';

/**
 * Embedded mode (no REDIS_URL): runs execute in this process through the same RunExecutor, at
 * most WORKER_CONCURRENCY at once, with the queue's retry policy (RUN_JOB_ATTEMPTS deliveries,
 * exponential backoff). Nothing here survives a restart, and nothing needs to: PostgreSQL keeps the
 * pending runs and the sweeper dispatches them again on start-up.
 */
@Injectable()
export class InlineRunDispatcher extends TrackingRunDispatcher implements OnModuleDestroy {
  private readonly logger = new Logger(InlineRunDispatcher.name);
  /** FIFO of run ids waiting for a slot; `head` is the next one (no O(n) shift). */
  private queue: string[] = [];
  private head = 0;
  /** Queued, executing or waiting for a retry: a second dispatch of these is a no-op. */
  private readonly tracked = new Set<string>();
  private readonly deliveries = new Map<string, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private running = 0;
  private stopped = false;

  constructor(
    private readonly executor: RunExecutor,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    super();
  }

  dispatch(runIds: string[]): Promise<void> {
    if (this.stopped) return Promise.resolve();
    for (const id of runIds) {
      if (this.tracked.has(id)) continue;
      this.tracked.add(id);
      this.queue.push(id);
    }
    this.pump();
    return Promise.resolve();
  }

  health(): Promise<'inline'> {
    return Promise.resolve('inline');
  }

  undelivered(runs: PendingRunRef[]): Promise<PendingRunRef[]> {
    return Promise.resolve(runs.filter((run) => !this.tracked.has(run.id)));
  }

  /** Runs waiting for a slot (not counting retries waiting for their backoff). */
  get queued(): number {
    return this.queue.length - this.head;
  }

  onModuleDestroy(): void {
    // In-flight executions are aborted and released by RunExecutor.shutdown().
    this.stopped = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.queue = [];
    this.head = 0;
  }

  private pump(): void {
    while (!this.stopped && this.running < this.config.workerConcurrency && this.head < this.queue.length) {
      const id = this.queue[this.head++];
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
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        if (this.stopped) return;
        this.queue.push(runId);
        this.pump();
      }, runRetryDelayMs(delivery));
      timer.unref();
      this.retryTimers.add(timer);
      return;
    }
    // Done, or out of deliveries with the run still held: its lease expires and the sweeper takes it.
    this.deliveries.delete(runId);
    this.tracked.delete(runId);
  }
}
