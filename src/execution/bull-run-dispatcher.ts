import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { EXECUTE_RUN_JOB, RUNS_QUEUE, RunJobData, runJobId, runJobOptions } from './execution.constants';
import { queryRows } from '../database/sql';
import { PendingRunRef, TrackingRunDispatcher } from './tracking-run-dispatcher';

/** Jobs per addBulk call: one Redis MULTI each, bounded so a 10,000-run launch is a few round trips. */
const ADD_BULK_CHUNK = 1000;
const HEALTH_TIMEOUT_MS = 1000;

/** Distributed mode: one `execute-run` job per pending run on the Bull queue `runs`. */
@Injectable()
export class BullRunDispatcher extends TrackingRunDispatcher {
  constructor(
    @InjectQueue(RUNS_QUEUE) private readonly queue: Queue<RunJobData>,
    private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    super();
  }

  /** Enqueues the runs still pending, with job ids from their current attempt (one query, then addBulk). */
  async dispatch(runIds: string[]): Promise<void> {
    if (runIds.length === 0) return;
    const runs = await queryRows<PendingRunRef>(
      this.dataSource,
      `SELECT id, attempt FROM runs WHERE id = ANY($1::uuid[]) AND status = 'pending'`,
      [runIds],
    );
    await this.enqueue(runs);
  }

  async enqueue(runs: PendingRunRef[]): Promise<void> {
    const options = runJobOptions(this.config);
    for (let i = 0; i < runs.length; i += ADD_BULK_CHUNK) {
      await this.queue.addBulk(
        runs.slice(i, i + ADD_BULK_CHUNK).map((run) => ({
          name: EXECUTE_RUN_JOB,
          data: { runId: run.id, attempt: run.attempt },
          opts: { ...options, jobId: runJobId(run.id, run.attempt) },
        })),
      );
    }
  }

  async health(): Promise<'up' | 'down'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'down'>((resolve) => (timer = setTimeout(() => resolve('down'), HEALTH_TIMEOUT_MS)));
    try {
      return await Promise.race([this.queue.client.ping().then((pong) => (pong === 'PONG' ? 'up' : 'down')), timeout]);
    } catch {
      return 'down';
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A run is undelivered when the job of its current attempt is gone (Redis lost its data, or
   * retention removed it) or finished (failed after its last delivery, or completed while the run
   * was elsewhere). Waiting, delayed (backoff) and active jobs are live.
   */
  async undelivered(runs: PendingRunRef[]): Promise<PendingRunRef[]> {
    const jobs = await Promise.all(runs.map((run) => this.queue.getJob(runJobId(run.id, run.attempt))));
    return runs.filter((_, i) => {
      const job = jobs[i];
      return !job || Boolean(job.finishedOn);
    });
  }
}
