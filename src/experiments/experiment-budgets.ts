import { Global, Injectable, Logger, Module, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { GroupCommit } from '../common/group-commit';
import { queryRows, runSql } from '../database/sql';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { RunRepository } from '../runs/run.repository';
import { RunRepositoryModule } from '../runs/run-repository.module';
import { DataSource } from 'typeorm';
import { EventsModule } from '../events/events.module';
import { type ExperimentProgress } from '../events/run-event';
import { RunEventsService } from '../events/run-events.service';
import { type SpendKind } from '../providers/llm.types';
import { SPEND_LEDGER, type SpendLedger, type SpendTarget } from '../providers/spend-ledger';
import { RunStatus } from '../domain/statuses';
import { ExperimentStatus } from '../domain/statuses';
import { EXPERIMENT_PROGRESS_SQL } from './sql';

/** The error of runs a budget stopped, and the experiment's stop_reason. */
export const BUDGET_EXHAUSTED_ERROR = 'budget exhausted';
export const BUDGET_EXHAUSTED_REASON = 'budget_exhausted';

/** Group commit of the spend statements: calls per statement, statements per experiment in flight. */
const BATCHING = { maxRows: 64, maxInFlight: 1 };

/** One call's reservation request (its id made here, so each row is matched to its caller). */
interface Reservation {
  id: string;
  target: SpendTarget;
  estimateUsd: number;
}

interface Settlement {
  reservationId: string;
  costUsd: number;
}

/** Reservations released per experiment (for the sweeper's log and tests). */
export interface ReleasedReservations {
  reservations: number;
  amountUsd: number;
}

/**
 * Takes the deleted reservations (a `gone` CTE of `experiment_id, amount_usd`) off their
 * experiments' reserved spend; answers how many there were and how much.
 */
const RELEASE_TAIL = `
, sums AS (SELECT experiment_id, count(*)::int AS n, sum(amount_usd) AS amount FROM gone GROUP BY experiment_id)
, upd AS (
  UPDATE experiments e SET spend_reserved_usd = GREATEST(e.spend_reserved_usd - sums.amount, 0)
    FROM sums WHERE e.id = sums.experiment_id
  RETURNING e.id
)
SELECT coalesce(sum(n), 0)::int AS reservations, coalesce(sum(amount), 0)::float8 AS amount_usd FROM sums`;

/** The run reservations of leases the sweeper found expired: `$1` run ids, `$2` the owners of those leases. */
const RELEASE_LOST_LEASES_SQL = `
WITH gone AS (
  DELETE FROM spend_reservations s
   USING unnest($1::uuid[], $2::text[]) AS t(run_id, holder)
   WHERE s.run_id = t.run_id AND s.holder = t.holder AND s.kind = 'run'
  RETURNING s.experiment_id, s.amount_usd
)${RELEASE_TAIL}`;

/** Reservations past their expiry: their call has ended for sure, and nobody settled it. */
const RELEASE_EXPIRED_SQL = `
WITH gone AS (
  DELETE FROM spend_reservations
   WHERE id IN (SELECT id FROM spend_reservations WHERE expires_at < now() ORDER BY expires_at LIMIT $1)
  RETURNING experiment_id, amount_usd
)${RELEASE_TAIL}`;

/**
 * Budgets of experiments, the only writer of their spend columns and of `spend_reservations`.
 * Before each provider call the call's upper-bound estimate is reserved with one conditional
 * UPDATE (PostgreSQL serialises the concurrent ones on the row), so workers together never start
 * more than the budget covers; the same statement records the reservation as a row. After the call
 * the row is deleted and its amount replaced by the real cost. A row whose process died between
 * the two is released by the sweeper: when the run's lease is found expired (`releaseLostLeases`),
 * or else once its expiry passed (`releaseExpired`). A reservation is leased like a run: it
 * expires one lease period (RUN_LEASE_MS) after it was made, and the process that holds it renews
 * it every third of that while its call is in flight, so a call of any length keeps its
 * reservation, and the reservation of a process that died (a judge call has no run lease to
 * expire) stops counting within one lease period. The calls of a process reserve and settle in
 * groups (one statement for the calls made close together), so the experiment's row is not a
 * queue of one update per provider call. Spend only grows: a retry pays again.
 */
@Injectable()
export class ExperimentBudgets implements SpendLedger, OnModuleDestroy {
  private readonly logger = new Logger(ExperimentBudgets.name);
  /** Reservations of this process whose calls are in flight: their expiry is renewed until they settle. */
  private readonly held = new Set<string>();
  private renewal: NodeJS.Timeout | null = null;
  private renewing = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: RunEventsService,
    private readonly runs: RunRepository,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Reservations and settlements made close together share one statement per experiment (group commit). */
  private readonly reservations = new Map<string, GroupCommit<Reservation, string | null>>();
  private readonly settlements = new Map<string, GroupCommit<Settlement, boolean>>();

  async reserve(target: SpendTarget, estimateUsd: number): Promise<string | null> {
    const id = await this.batches(this.reservations, target.experimentId, (batch) =>
      this.reserveBatch(target.experimentId, batch),
    ).submit({ id: randomUUID(), target, estimateUsd });
    if (id !== null) {
      this.hold(id);
      return id;
    }
    await this.stop(target.experimentId);
    return null;
  }

  async settle(target: SpendTarget, reservationId: string, costUsd: number | null): Promise<void> {
    const key = `${target.experimentId}:${target.kind}`;
    this.held.delete(reservationId);
    const exhausted = await this.batches(this.settlements, key, (batch) =>
      this.settleBatch(target.experimentId, target.kind, batch),
    ).submit({ reservationId, costUsd: costUsd ?? 0 });
    if (exhausted) await this.stop(target.experimentId);
  }

  /**
   * Reservations of one experiment made close together, in one statement: the row is locked (FOR
   * UPDATE returns its latest version), and the calls are taken in order while their running sum
   * fits the budget, as the same calls one statement each would (a later call never passes an
   * earlier refused one). Each accepted call gets its reservation row; each call's answer in order
   * (its reservation id, or null).
   */
  private async reserveBatch(experimentId: string, batch: Reservation[]): Promise<Array<string | null>> {
    const { rows } = await runSql<{ id: string }>(
      this.dataSource.manager,
      `WITH req AS (
         SELECT r.i, r.id, r.amount, r.run_id, r.holder, r.kind, sum(r.amount) OVER (ORDER BY r.i) AS cum
           FROM unnest($2::uuid[], $3::numeric[], $4::uuid[], $5::text[], $6::text[])
                WITH ORDINALITY AS r(id, amount, run_id, holder, kind, i)
       ), locked AS (
         SELECT budget_usd, status, spend_cost_usd + spend_judge_usd + spend_reserved_usd AS used
           FROM experiments WHERE id = $1 FOR UPDATE
       ), ok AS (
         SELECT req.* FROM req, locked
          WHERE locked.budget_usd IS NULL
             OR (locked.status <> 'cancelled' AND locked.used + req.cum <= locked.budget_usd)
       ), reserved AS (
         UPDATE experiments SET spend_reserved_usd = spend_reserved_usd + (SELECT sum(amount) FROM ok)
          WHERE id = $1 AND EXISTS (SELECT 1 FROM ok)
         RETURNING id
       )
       INSERT INTO spend_reservations (id, experiment_id, run_id, holder, kind, amount_usd, expires_at)
       SELECT ok.id, $1, ok.run_id, ok.holder, ok.kind, ok.amount, now() + $7::int * interval '1 millisecond'
         FROM ok, (SELECT count(*) FROM reserved) AS written
       RETURNING id`,
      [
        experimentId,
        batch.map((b) => b.id),
        batch.map((b) => b.estimateUsd),
        batch.map((b) => b.target.runId ?? null),
        batch.map((b) => b.target.holder ?? null),
        batch.map((b) => b.target.kind),
        // Renewed by this process while the call is in flight (see hold()).
        this.config.leaseMs,
      ],
    );
    const accepted = new Set(rows.map((row) => row.id));
    return batch.map((b) => (accepted.has(b.id) ? b.id : null));
  }

  /**
   * Settlements of one experiment and kind made close together, in one UPDATE: their reservation
   * rows are deleted and only what was deleted is taken off the reserved spend (one the sweeper
   * released already is not subtracted twice); the real costs are added. Whether the budget is now spent.
   */
  private async settleBatch(experimentId: string, kind: SpendKind, batch: Settlement[]): Promise<boolean[]> {
    const column = kind === 'judge' ? 'spend_judge_usd' : 'spend_cost_usd';
    const { rows } = await runSql<{ exhausted: boolean }>(
      this.dataSource.manager,
      `WITH gone AS (DELETE FROM spend_reservations WHERE id = ANY($2::uuid[]) RETURNING amount_usd)
       UPDATE experiments
          SET spend_reserved_usd = GREATEST(spend_reserved_usd - coalesce((SELECT sum(amount_usd) FROM gone), 0), 0),
              ${column} = ${column} + $3::numeric
        WHERE id = $1
       RETURNING budget_usd IS NOT NULL AND spend_cost_usd + spend_judge_usd >= budget_usd AS exhausted`,
      [experimentId, batch.map((b) => b.reservationId), batch.reduce((sum, b) => sum + b.costUsd, 0)],
    );
    return batch.map(() => rows[0]?.exhausted === true);
  }

  /** Keeps the reservation alive until it is settled: renewals every third of a lease period while any is held. */
  private hold(id: string): void {
    this.held.add(id);
    if (this.renewal) return;
    this.renewal = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.config.leaseMs / 3)));
    this.renewal.unref();
  }

  /**
   * Moves the expiry of every reservation this process holds one lease period ahead (one
   * statement). A renewal that fails is logged and tried again at the next tick; should the
   * reservation expire meanwhile, the sweeper releases it and its settle adds only the real cost.
   */
  private async renew(): Promise<void> {
    if (this.held.size === 0) {
      if (this.renewal) clearInterval(this.renewal);
      this.renewal = null;
      return;
    }
    if (this.renewing) return;
    this.renewing = true;
    try {
      await runSql(
        this.dataSource.manager,
        `UPDATE spend_reservations SET expires_at = now() + $2::int * interval '1 millisecond' WHERE id = ANY($1::uuid[])`,
        [[...this.held], this.config.leaseMs],
      );
    } catch (error) {
      this.logger.warn(`renewal of ${this.held.size} budget reservation(s) failed: ${(error as Error).message}`);
    } finally {
      this.renewing = false;
    }
  }

  onModuleDestroy(): void {
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = null;
  }

  /** The group commit of `key`, made on first use and dropped once idle (experiments come and go). */
  private batches<I, O>(
    map: Map<string, GroupCommit<I, O>>,
    key: string,
    run: (batch: I[]) => Promise<O[]>,
  ): GroupCommit<I, O> {
    let group = map.get(key);
    if (!group) {
      group = new GroupCommit<I, O>(run, BATCHING);
      map.set(key, group);
      if (map.size > 1000) map.clear();
    }
    return group;
  }

  /**
   * The run reservations of leases that expired (the sweeper requeued or failed those runs): their
   * holder stopped without settling. Only the reservations of that lease owner go, never those of a
   * new claim of the same run.
   */
  async releaseLostLeases(leases: Array<{ runId: string; holder: string }>): Promise<ReleasedReservations> {
    if (leases.length === 0) return { reservations: 0, amountUsd: 0 };
    return this.release(RELEASE_LOST_LEASES_SQL, [leases.map((l) => l.runId), leases.map((l) => l.holder)]);
  }

  /** Up to `limit` reservations past their expiry (every other way a settle can go missing). */
  async releaseExpired(limit: number): Promise<ReleasedReservations> {
    return this.release(RELEASE_EXPIRED_SQL, [limit]);
  }

  /**
   * Those of `runIds` with a provider call in flight: a reservation not yet expired (its process
   * renews it while the call lasts; one of a dead process lapses within a lease period).
   */
  async runsWithCallsInFlight(runIds: string[]): Promise<Set<string>> {
    if (runIds.length === 0) return new Set();
    const rows = await queryRows<{ run_id: string }>(
      this.dataSource,
      `SELECT DISTINCT run_id FROM spend_reservations WHERE run_id = ANY($1::uuid[]) AND expires_at > now()`,
      [runIds],
    );
    return new Set(rows.map((row) => row.run_id));
  }

  private async release(sql: string, params: unknown[]): Promise<ReleasedReservations> {
    const [row] = await queryRows<{ reservations: number; amount_usd: number }>(this.dataSource, sql, params);
    return { reservations: row.reservations, amountUsd: row.amount_usd };
  }

  /**
   * The budget is spent: pending runs → cancelled ("budget exhausted"), the experiment → cancelled
   * with stop_reason budget_exhausted, and the events of both. Running runs stop at their next call.
   * Idempotent: only the first caller changes anything and publishes.
   */
  async stop(experimentId: string): Promise<void> {
    const result = await this.dataSource.transaction(async (em) => {
      const experiment = await runSql(
        em,
        `SELECT id FROM experiments WHERE id = $1 AND status = 'running' AND budget_usd IS NOT NULL FOR UPDATE`,
        [experimentId],
      );
      if (experiment.rows.length === 0) return null;
      const cancelled = await this.runs.cancelPending(em, experimentId, BUDGET_EXHAUSTED_ERROR);
      await runSql(
        em,
        `UPDATE experiments SET status = 'cancelled', stop_reason = $2,
                completed_at = COALESCE(completed_at, now()), updated_at = now()
          WHERE id = $1`,
        [experimentId, BUDGET_EXHAUSTED_REASON],
      );
      return cancelled;
    });
    if (result === null) return;
    this.logger.log(`experiment ${experimentId}: budget exhausted, ${result.length} pending runs cancelled`);
    try {
      for (let i = 0; i < result.length; i += 500) {
        await Promise.all(
          result.slice(i, i + 500).map((runId) =>
            this.events.publish({
              type: 'run.status',
              experiment_id: experimentId,
              run_id: runId,
              status: RunStatus.Cancelled,
              error: BUDGET_EXHAUSTED_ERROR,
            }),
          ),
        );
      }
      const progress = await runSql<ExperimentProgress>(this.dataSource.manager, EXPERIMENT_PROGRESS_SQL, [
        experimentId,
      ]);
      await this.events.publish({
        type: 'experiment.progress',
        experiment_id: experimentId,
        progress: progress.rows[0],
      });
      await this.events.publish({
        type: 'experiment.status',
        experiment_id: experimentId,
        status: ExperimentStatus.Cancelled,
        stop_reason: BUDGET_EXHAUSTED_REASON,
      });
    } catch (error) {
      this.logger.warn(`experiment ${experimentId}: budget stop events not published: ${(error as Error).message}`);
    }
  }
}

/** Global: LlmClient (providers/) finds the ledger under SPEND_LEDGER without importing experiments/. */
@Global()
@Module({
  imports: [EventsModule, RunRepositoryModule],
  providers: [ExperimentBudgets, { provide: SPEND_LEDGER, useExisting: ExperimentBudgets }],
  exports: [ExperimentBudgets, SPEND_LEDGER],
})
export class BudgetModule {}
