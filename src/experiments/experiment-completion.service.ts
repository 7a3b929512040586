import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ExperimentStatus } from '../domain/statuses';
import { ExperimentProgress } from '../events/run-event';
import { RunEventsService } from '../events/run-events.service';
import { queryRows, runSql } from '../database/sql';
import { appendExperimentEvent } from './experiment-event-data';
import { OutboxWriter } from '../outbox/outbox.writer';
import { EXPERIMENT_PROGRESS_SQL } from './sql';

/** At most one progress event per experiment per this interval and process (the last change always gets one). */
export const PROGRESS_EVENT_INTERVAL_MS = 1000;

/**
 * What follows a run state change: an experiment whose last run ended becomes `completed`, and
 * its progress counts are published (throttled, so a 10,000-run experiment costs a count query a
 * second, not one per run).
 */
@Injectable()
export class ExperimentCompletionService implements OnModuleDestroy {
  private readonly logger = new Logger(ExperimentCompletionService.name);
  private readonly lastProgressAt = new Map<string, number>();
  private readonly scheduled = new Map<string, NodeJS.Timeout>();
  private closed = false;
  private readonly completionChecks = new CoalescingRunner((id) => this.completeIfDone(id));

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: RunEventsService,
    private readonly outbox: OutboxWriter,
  ) {}

  /**
   * Call after runs of these experiments reached a terminal state (committed). The conditional
   * UPDATE runs after the caller's commit, so of two runs ending at once the later one always sees
   * the other finished and completes the experiment. Calls for one experiment that arrive while
   * its check is running share one more check after it: 32 runs ending together cost two
   * statements, not 32, and the last commit is still always followed by a check.
   */
  async runsEnded(experimentIds: string[]): Promise<void> {
    const ids = [...new Set(experimentIds)];
    await Promise.all(ids.map((id) => this.completionChecks.run(id)));
    for (const id of ids) this.progressChanged(id);
  }

  /** Schedules an `experiment.progress` event: at once if none was sent lately, else at the end of the interval. */
  progressChanged(experimentId: string): void {
    if (this.closed || this.scheduled.has(experimentId)) return;
    const since = Date.now() - (this.lastProgressAt.get(experimentId) ?? 0);
    const timer = setTimeout(
      () => void this.publishProgress(experimentId),
      Math.max(0, PROGRESS_EVENT_INTERVAL_MS - since),
    );
    timer.unref();
    this.scheduled.set(experimentId, timer);
  }

  /** The counts of GET /api/experiments/{id}'s `progress`, from the (experiment_id, status) index. */
  async progress(experimentId: string): Promise<ExperimentProgress> {
    const rows = await queryRows<ExperimentProgress>(this.dataSource, EXPERIMENT_PROGRESS_SQL, [experimentId]);
    return rows[0];
  }

  onModuleDestroy(): void {
    this.closed = true;
    for (const timer of this.scheduled.values()) clearTimeout(timer);
    this.scheduled.clear();
  }

  private async completeIfDone(experimentId: string): Promise<void> {
    // The status change and its outbox event commit together (experiment.completed is never lost).
    const completed = await this.dataSource.transaction(async (em) => {
      const { rows } = await runSql<{ id: string; project_id: string }>(
        em,
        `UPDATE experiments e SET status = 'completed', completed_at = now(), updated_at = now()
          WHERE e.id = $1 AND e.status = 'running'
            AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.experiment_id = e.id AND r.status IN ('pending', 'running'))
         RETURNING e.id, e.project_id`,
        [experimentId],
      );
      if (rows.length > 0) {
        await appendExperimentEvent(this.outbox, em, rows[0].project_id, experimentId, 'experiment.completed');
      }
      return rows;
    });
    if (completed.length === 0) return;
    this.logger.log(`experiment ${experimentId}: every run ended, completed`);
    await this.events.publish({
      type: 'experiment.status',
      experiment_id: experimentId,
      status: ExperimentStatus.Completed,
    });
  }

  private async publishProgress(experimentId: string): Promise<void> {
    this.scheduled.delete(experimentId);
    this.lastProgressAt.set(experimentId, Date.now());
    if (this.lastProgressAt.size > 10_000) this.lastProgressAt.clear();
    if (this.closed) return;
    try {
      const progress = await this.progress(experimentId);
      await this.events.publish({ type: 'experiment.progress', experiment_id: experimentId, progress });
    } catch (error) {
      this.logger.debug(`experiment ${experimentId}: progress not published: ${(error as Error).message}`);
    }
  }
}

/**
 * Runs `task(key)` at most once at a time per key; calls made while it runs share one more run
 * that starts after it (so every caller is answered by a run that began after its call).
 */
class CoalescingRunner {
  private readonly state = new Map<string, { running: Promise<void>; trailing: Promise<void> | null }>();

  constructor(private readonly task: (key: string) => Promise<void>) {}

  run(key: string): Promise<void> {
    const current = this.state.get(key);
    if (!current) return this.start(key);
    current.trailing ??= current.running.then(
      () => this.start(key),
      () => this.start(key),
    );
    return current.trailing;
  }

  private start(key: string): Promise<void> {
    const entry: { running: Promise<void>; trailing: Promise<void> | null } = {
      running: Promise.resolve(),
      trailing: null,
    };
    entry.running = this.task(key).finally(() => {
      if (this.state.get(key) === entry) this.state.delete(key);
    });
    this.state.set(key, entry);
    return entry.running;
  }
}
