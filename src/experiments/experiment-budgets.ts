import { Global, Injectable, Logger, Module } from '@nestjs/common';
import { GroupCommit } from '../common/group-commit';
import { runSql } from '../database/sql';
import { RunRepository } from '../runs/run.repository';
import { RunRepositoryModule } from '../runs/run-repository.module';
import { DataSource } from 'typeorm';
import { EventsModule } from '../events/events.module';
import { type ExperimentProgress } from '../events/run-event';
import { RunEventsService } from '../events/run-events.service';
import { type SpendKind } from '../providers/llm.types';
import { SPEND_LEDGER, type SpendLedger } from '../providers/spend-ledger';
import { RunStatus } from '../domain/statuses';
import { ExperimentStatus } from '../domain/statuses';
import { EXPERIMENT_PROGRESS_SQL } from './sql';

/** Group commit of the spend statements: calls per statement, statements per experiment in flight. */
const BATCHING = { maxRows: 64, maxInFlight: 1 };

/** The error of runs a budget stopped, and the experiment's stop_reason. */
export const BUDGET_EXHAUSTED_ERROR = 'budget exhausted';
export const BUDGET_EXHAUSTED_REASON = 'budget_exhausted';

/**
 * Budgets of experiments, the only writer of their spend columns. Before each provider call the
 * call's upper-bound estimate is reserved under the experiment row's lock (PostgreSQL serialises
 * the concurrent ones on the row), so workers together never start more than the budget covers;
 * after the call the reservation is replaced by the real cost. The calls of a process reserve and
 * settle in groups (one statement for the calls made close together), so the experiment's row is
 * not a queue of one update per provider call. Spend only grows: a retry pays again.
 */
@Injectable()
export class ExperimentBudgets implements SpendLedger {
  private readonly logger = new Logger(ExperimentBudgets.name);
  /** Reservations and settlements made close together share one statement per experiment (group commit). */
  private readonly reservations = new Map<string, GroupCommit<number, boolean>>();
  private readonly settlements = new Map<string, GroupCommit<{ reservedUsd: number; costUsd: number }, boolean>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: RunEventsService,
    private readonly runs: RunRepository,
  ) {}

  async reserve(experimentId: string, estimateUsd: number): Promise<boolean> {
    if (
      await this.batches(this.reservations, experimentId, (batch) => this.reserveBatch(experimentId, batch)).submit(
        estimateUsd,
      )
    )
      return true;
    await this.stop(experimentId);
    return false;
  }

  async settle(experimentId: string, kind: SpendKind, reservedUsd: number, costUsd: number | null): Promise<void> {
    const key = `${experimentId}:${kind}`;
    const exhausted = await this.batches(this.settlements, key, (batch) =>
      this.settleBatch(experimentId, kind, batch),
    ).submit({ reservedUsd, costUsd: costUsd ?? 0 });
    if (exhausted) await this.stop(experimentId);
  }

  /**
   * Reservations of one experiment made close together, in one statement: the row is locked (FOR
   * UPDATE returns its latest version), and the calls are taken in order while their running sum
   * fits the budget, as the same calls one statement each would (a later call never passes an
   * earlier refused one). Each call's answer in order.
   */
  private async reserveBatch(experimentId: string, estimates: number[]): Promise<boolean[]> {
    const { rows } = await runSql<{ i: string }>(
      this.dataSource.manager,
      `WITH req AS (
         SELECT r.i, r.amount, sum(r.amount) OVER (ORDER BY r.i) AS cum
           FROM unnest($2::numeric[]) WITH ORDINALITY AS r(amount, i)
       ), locked AS (
         SELECT budget_usd, status, spend_cost_usd + spend_judge_usd + spend_reserved_usd AS used
           FROM experiments WHERE id = $1 FOR UPDATE
       ), ok AS (
         SELECT req.i, req.amount FROM req, locked
          WHERE locked.budget_usd IS NULL
             OR (locked.status <> 'cancelled' AND locked.used + req.cum <= locked.budget_usd)
       ), reserved AS (
         UPDATE experiments SET spend_reserved_usd = spend_reserved_usd + (SELECT sum(amount) FROM ok)
          WHERE id = $1 AND EXISTS (SELECT 1 FROM ok)
         RETURNING id
       )
       SELECT i::text FROM ok, (SELECT count(*) FROM reserved) AS written`,
      [experimentId, estimates],
    );
    const accepted = new Set(rows.map((row) => Number(row.i)));
    return estimates.map((_, index) => accepted.has(index + 1));
  }

  /** Settlements of one experiment and kind made close together, in one UPDATE; whether the budget is now spent. */
  private async settleBatch(
    experimentId: string,
    kind: SpendKind,
    batch: { reservedUsd: number; costUsd: number }[],
  ): Promise<boolean[]> {
    const column = kind === 'judge' ? 'spend_judge_usd' : 'spend_cost_usd';
    const { rows } = await runSql<{ exhausted: boolean }>(
      this.dataSource.manager,
      `UPDATE experiments
          SET spend_reserved_usd = GREATEST(spend_reserved_usd - $2::numeric, 0), ${column} = ${column} + $3::numeric
        WHERE id = $1
       RETURNING budget_usd IS NOT NULL AND spend_cost_usd + spend_judge_usd >= budget_usd AS exhausted`,
      [experimentId, batch.reduce((sum, b) => sum + b.reservedUsd, 0), batch.reduce((sum, b) => sum + b.costUsd, 0)],
    );
    return batch.map(() => rows[0]?.exhausted === true);
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
