import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { retryWhileDatabaseUnavailable } from '../common/infrastructure-errors';
import { DataSource } from 'typeorm';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { RunEventsService } from '../events/run-events.service';
import { RunStatus } from '../domain/statuses';
import { ExperimentBudgets } from '../experiments/experiment-budgets';
import { ExperimentCompletionService } from '../experiments/experiment-completion.service';
import { RunExecutor } from './run-executor';
import { MAX_RUN_REQUEUES } from './execution.constants';
import { queryRows } from '../database/sql';
import { type ExpiredRun, RunRepository } from '../runs/run.repository';
import { PendingRunRef, RUN_DISPATCHER_IMPL, TrackingRunDispatcher } from './tracking-run-dispatcher';

/** false: the sweeper does not start by itself (tests drive `sweepOnce()`). */
export const RUN_SWEEPER_AUTOSTART = Symbol('RUN_SWEEPER_AUTOSTART');

const PAGE = 1000;
/** Pending runs checked per sweep; the scan resumes where it stopped at the next sweep. */
const MAX_CHECKED_PER_SWEEP = 10_000;

export interface SweepResult {
  /** Running runs whose lease expired, handed out again. */
  expiredRequeued: number;
  /** Running runs whose lease expired once too often, failed. */
  expiredFailed: number;
  /** Pending runs checked for a live delivery. */
  pendingChecked: number;
  /** Pending runs with no live delivery, dispatched again. */
  orphansRequeued: number;
  /** Completed runs whose scoring never finished (their worker died in between), scored now. */
  unscoredScored: number;
  /**
   * Budget reservations nobody will settle, released: those of the expired leases, and any past
   * its expiry (a judge call or settle of a process that died).
   */
  reservationsReleased: number;
}

/**
 * Makes sure no run stays pending or running forever. Periodically:
 * - a running run whose lease expired (its worker died) goes back to pending with attempt + 1 and
 *   lease_expiries + 1 and is dispatched again (its lease expiring once more after MAX_RUN_REQUEUES
 *   requeues fails it instead; lost jobs do not count);
 * - a pending run that no dispatcher is delivering (Redis lost the job, the process restarted in
 *   embedded mode, the API died between commit and dispatch) gets attempt + 1, hence a fresh job
 *   id, and is dispatched again.
 * Every change is a conditional UPDATE, so several sweepers (one per worker) can run at once, and a
 * duplicate dispatch is harmless: the executor's claim lets one delivery through.
 */
@Injectable()
export class RunSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RunSweeper.name);
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<SweepResult> | null = null;
  private stopped = false;
  private sweeps = 0;
  /** PostgreSQL's now() when this process started (see onApplicationBootstrap). */
  private bootCutoff: string | null = null;
  /** Keyset position of the pending scan: (created_at as text, id). */
  private cursor: { at: string; id: string } | null = null;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(RUN_DISPATCHER_IMPL) private readonly dispatcher: TrackingRunDispatcher,
    private readonly completion: ExperimentCompletionService,
    private readonly executor: RunExecutor,
    private readonly events: RunEventsService,
    private readonly runs: RunRepository,
    private readonly budgets: ExperimentBudgets,
    @InjectConfig() private readonly config: AppConfig,
    @Optional() @Inject(RUN_SWEEPER_AUTOSTART) private readonly autostart: boolean | null = null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // PostgreSQL's clock at start-up: what was pending (or unscored) before this process existed
    // cannot be in flight here, so the first sweep takes all of it; runs written after start-up are
    // left to their own dispatch (awaited here, so no request can slip in before it is known).
    // A worker whose start meets a PostgreSQL outage waits for it (logged, capped backoff) instead of exiting.
    const [row] = await retryWhileDatabaseUnavailable(
      'run sweeper start-up',
      () => queryRows<{ now: string }>(this.dataSource, `SELECT now()::text AS now`, []),
      this.logger,
      { shouldStop: () => this.stopped },
    );
    this.bootCutoff = row.now;
    if (this.autostart !== false) this.start();
  }

  /** Sweeps now, then every SWEEP_INTERVAL_MS (the timer never keeps the process alive). */
  start(): void {
    if (this.timer || this.stopped) return;
    const tick = async () => {
      await this.sweepOnce().catch((error: Error) => this.logger.warn(`sweep failed: ${error.message}`));
      if (this.stopped) return;
      this.timer = setTimeout(() => void tick(), this.config.sweepIntervalMs);
      this.timer.unref();
    };
    this.timer = setTimeout(() => void tick(), 0);
    this.timer.unref();
  }

  /** One sweep (concurrent calls share it). */
  sweepOnce(): Promise<SweepResult> {
    this.current ??= this.sweep().finally(() => (this.current = null));
    return this.current;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.current?.catch(() => undefined);
  }

  private async sweep(): Promise<SweepResult> {
    const first = this.sweeps++ === 0;
    const [expiredRequeued, expiredFailed, lostReservations] = await this.sweepExpiredLeases();
    const reservationsReleased = lostReservations + (await this.sweepExpiredReservations());
    // On start-up nothing is in flight in this process yet: every pending run is fair game at once.
    // First sweep: everything from before start-up; later ones: what sat still for a whole interval.
    const before = first ? this.bootCutoff : null;
    const [pendingChecked, orphansRequeued] = await this.sweepOrphans(before, this.config.sweepIntervalMs);
    const unscoredScored = await this.sweepUnscored(before, this.config.leaseMs);
    const result = {
      expiredRequeued,
      expiredFailed,
      pendingChecked,
      orphansRequeued,
      unscoredScored,
      reservationsReleased,
    };
    if (expiredRequeued + expiredFailed + orphansRequeued + unscoredScored + reservationsReleased > 0) {
      this.logger.log(
        `sweep: ${expiredRequeued} run(s) with an expired lease requeued, ${expiredFailed} failed; ` +
          `${orphansRequeued} of ${pendingChecked} pending run(s) had no live delivery and were dispatched again; ` +
          `${unscoredScored} completed run(s) scored late; ${reservationsReleased} unsettled budget reservation(s) released`,
      );
    } else {
      this.logger.debug(`sweep: nothing to do (${pendingChecked} pending run(s) checked)`);
    }
    return result;
  }

  /** [requeued, failed, budget reservations of those leases released]. */
  private async sweepExpiredLeases(): Promise<[number, number, number]> {
    let requeued = 0;
    let failed = 0;
    let released = 0;
    for (;;) {
      // SKIP LOCKED: a run being finished right now (its row locked) is not an expired one.
      const rows = await this.runs.requeueExpired(PAGE, MAX_RUN_REQUEUES);
      // The dead holder's calls will never settle: their reservations stop counting against the budget
      // before the run is handed out again. (Should this step be lost, the reservations' expiry still frees them.)
      const lost = rows.flatMap((r) => (r.previous_owner ? [{ runId: r.id, holder: r.previous_owner }] : []));
      released += (await this.budgets.releaseLostLeases(lost)).reservations;
      const pending = rows.filter((r) => r.status === RunStatus.Pending);
      const dead = rows.filter((r) => r.status === RunStatus.Failed);
      if (pending.length > 0) {
        this.logger.warn(
          `lease expired for ${pending.length} run(s), handing them out again: ${preview(pending.map((r) => `${r.id}@${r.attempt} (expiry ${r.lease_expiries})`))}`,
        );
        await this.dispatcher.dispatch(pending.map((r) => r.id));
        await this.announce(pending);
      }
      if (dead.length > 0) {
        this.logger.error(
          `${dead.length} run(s) failed after ${MAX_RUN_REQUEUES + 1} expired leases: ${preview(dead.map((r) => r.id))}`,
        );
        await this.announce(dead);
        await this.completion.runsEnded(dead.map((r) => r.experiment_id));
      }
      requeued += pending.length;
      failed += dead.length;
      if (rows.length < PAGE) return [requeued, failed, released];
    }
  }

  /** Budget reservations past their expiry (no call outlives it), in pages. */
  private async sweepExpiredReservations(): Promise<number> {
    let released = 0;
    for (;;) {
      const { reservations } = await this.budgets.releaseExpired(PAGE);
      released += reservations;
      if (reservations < PAGE) return released;
    }
  }

  /** Pending runs last touched before `before` (a timestamptz), or else more than `graceMs` ago. */
  private async sweepOrphans(before: string | null, graceMs: number): Promise<[number, number]> {
    let checked = 0;
    let requeued = 0;
    while (checked < MAX_CHECKED_PER_SWEEP) {
      const page = await queryRows<PendingRunRef & { at: string; experiment_id: string }>(
        this.dataSource,
        `SELECT id, attempt, experiment_id, created_at::text AS at
           FROM runs
          WHERE status = 'pending' AND updated_at < coalesce($5::timestamptz, now() - $1::int * interval '1 millisecond')
            AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
          ORDER BY created_at, id
          LIMIT $4`,
        [graceMs, this.cursor?.at ?? null, this.cursor?.id ?? null, PAGE, before],
      );
      if (page.length === 0) {
        this.cursor = null; // wrapped around: the next sweep starts from the oldest again
        break;
      }
      const last = page[page.length - 1];
      this.cursor = { at: last.at, id: last.id };
      checked += page.length;
      const orphans = await this.dispatcher.undelivered(page.map(({ id, attempt }) => ({ id, attempt })));
      if (orphans.length === 0) continue;
      // attempt + 1 only where nobody else moved the run meanwhile; then a fresh job id.
      const bumped = await this.runs.bumpOrphans(orphans);
      if (bumped.length > 0) {
        this.logger.warn(
          `${bumped.length} pending run(s) had no live delivery, dispatching again: ${preview(bumped.map((r) => `${r.id}@${r.attempt}`))}`,
        );
        await this.dispatcher.dispatch(bumped.map((r) => r.id));
        requeued += bumped.length;
      }
    }
    return [checked, requeued];
  }

  /**
   * Completed runs left unscored since before start-up, or for longer than `graceMs` (the executor scores right after
   * completing, so only a worker that died in between leaves one), unless a call of theirs is in flight (a slow judge
   * of a live process). Scoring is idempotent per run
   * and scorer, so a run scored twice by two sweepers still gets one score per scorer.
   */
  private async sweepUnscored(before: string | null, graceMs: number): Promise<number> {
    const rows = await queryRows<{ id: string; experiment_id: string }>(
      this.dataSource,
      `SELECT id, experiment_id FROM runs
        WHERE status = 'completed' AND scored_at IS NULL
          AND completed_at < coalesce($3::timestamptz, now() - $1::int * interval '1 millisecond')
        ORDER BY completed_at LIMIT $2`,
      [graceMs, PAGE, before],
    );
    // A judge call still in flight (its reservation renewed by a live process) is not a dead scorer:
    // scoring that run again would pay for the judge twice.
    const live = await this.budgets.runsWithCallsInFlight(rows.map((row) => row.id));
    const orphaned = rows.filter((row) => !live.has(row.id));
    for (const row of orphaned) await this.executor.scoreAndAnnounce(row.id, row.experiment_id);
    return orphaned.length;
  }

  private async announce(rows: ExpiredRun[]): Promise<void> {
    for (const row of rows) {
      await this.events.publish({
        type: 'run.status',
        experiment_id: row.experiment_id,
        run_id: row.id,
        status: row.status,
        attempt: row.attempt,
        error: row.error,
      });
      this.completion.progressChanged(row.experiment_id);
    }
  }
}

function preview(items: string[]): string {
  return items.length <= 5 ? items.join(', ') : `${items.slice(0, 5).join(', ')} and ${items.length - 5} more`;
}
