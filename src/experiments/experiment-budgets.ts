import { Global, Injectable, Logger, Module } from '@nestjs/common';
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

/** The error of runs a budget stopped, and the experiment's stop_reason. */
export const BUDGET_EXHAUSTED_ERROR = 'budget exhausted';
export const BUDGET_EXHAUSTED_REASON = 'budget_exhausted';

/**
 * Budgets of experiments, the only writer of their spend columns. Before each provider call the
 * call's upper-bound estimate is reserved with one conditional UPDATE (PostgreSQL serialises the
 * concurrent ones on the row), so workers together never start more than the budget covers;
 * after the call the reservation is replaced by the real cost. Spend only grows: a retry pays again.
 */
@Injectable()
export class ExperimentBudgets implements SpendLedger {
  private readonly logger = new Logger(ExperimentBudgets.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: RunEventsService,
    private readonly runs: RunRepository,
  ) {}

  async reserve(experimentId: string, estimateUsd: number): Promise<boolean> {
    const { rows } = await runSql(
      this.dataSource.manager,
      `UPDATE experiments SET spend_reserved_usd = spend_reserved_usd + $2
        WHERE id = $1
          AND (budget_usd IS NULL
               OR (status <> 'cancelled' AND spend_cost_usd + spend_judge_usd + spend_reserved_usd + $2 <= budget_usd))
       RETURNING id`,
      [experimentId, estimateUsd],
    );
    if (rows.length > 0) return true;
    await this.stop(experimentId);
    return false;
  }

  async settle(experimentId: string, kind: SpendKind, reservedUsd: number, costUsd: number | null): Promise<void> {
    const column = kind === 'judge' ? 'spend_judge_usd' : 'spend_cost_usd';
    const { rows } = await runSql<{ exhausted: boolean }>(
      this.dataSource.manager,
      `UPDATE experiments
          SET spend_reserved_usd = GREATEST(spend_reserved_usd - $2, 0), ${column} = ${column} + $3
        WHERE id = $1
       RETURNING budget_usd IS NOT NULL AND spend_cost_usd + spend_judge_usd >= budget_usd AS exhausted`,
      [experimentId, reservedUsd, costUsd ?? 0],
    );
    if (rows[0]?.exhausted) await this.stop(experimentId);
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
