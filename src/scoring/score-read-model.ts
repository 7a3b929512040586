import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  APPLY_RUN_VALUES,
  LOCK_EXPERIMENT_EXCLUSIVE,
  LOCK_RUN_VALUES,
  MODEL_IS_CURRENT,
  REBUILD_AGGREGATES,
  REBUILD_CLEAR,
  REBUILD_PAGE_END,
  REBUILD_RUN_VALUES_PAGE,
} from './score-read-model.sql';

/** Runs valued per statement while an experiment is rebuilt (progress is logged per page). */
export const REBUILD_PAGE_SIZE = 50_000;
const UUID_MIN = '00000000-0000-0000-0000-000000000000';

/**
 * The score read model: per-run values and per-configuration aggregates that the leaderboards and
 * the score-filtered runs list read (tables of migration ScoreReadModel). Every score write calls
 * `refresh` inside its own transaction, so the model moves with the scores atomically; a change of
 * weights calls `rebuild`, which recomputes one experiment from its scores in set-based SQL.
 *
 * Concurrency: a refresh holds a shared advisory lock on the run's experiment and row locks on the
 * run's value rows (taken before it reads the scores); a rebuild holds the experiment's lock
 * exclusively. Two scorers of one run, a human score racing an automatic one, or a rebuild racing
 * new scores therefore always leave the aggregates equal to a recomputation from scratch.
 */
@Injectable()
export class ScoreReadModel {
  private readonly logger = new Logger(ScoreReadModel.name);
  private readonly rebuilding = new Map<string, Promise<void>>();

  constructor(private readonly dataSource: DataSource) {}

  /** Recomputes the given runs' values from their scores; call inside the score write's transaction. */
  async refresh(em: EntityManager, runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    const ids = [...new Set(runIds)].sort();
    await em.query(LOCK_RUN_VALUES, [ids]);
    await em.query(APPLY_RUN_VALUES, [ids]);
  }

  /** Whether reads of the experiment may use the model with these weights (jsonb text). */
  async isCurrent(experimentId: string, weightsJson: string): Promise<boolean> {
    const rows: { current: boolean }[] = await this.dataSource.query(MODEL_IS_CURRENT, [experimentId, weightsJson]);
    return rows[0]?.current === true;
  }

  /**
   * Recomputes one experiment's values and aggregates with its current weights, in one
   * transaction (refreshes of its runs wait meanwhile). Concurrent calls for the same experiment
   * share one rebuild that starts after the running one, so the last weights always win.
   */
  rebuild(experimentId: string): Promise<void> {
    const previous = this.rebuilding.get(experimentId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.rebuildNow(experimentId));
    const tracked = next.finally(() => {
      if (this.rebuilding.get(experimentId) === tracked) this.rebuilding.delete(experimentId);
    });
    this.rebuilding.set(experimentId, tracked);
    return tracked;
  }

  private async rebuildNow(experimentId: string): Promise<void> {
    const started = Date.now();
    let valued = 0;
    await this.dataSource.transaction(async (em) => {
      await em.query(LOCK_EXPERIMENT_EXCLUSIVE, [experimentId]);
      await em.query(REBUILD_CLEAR, [experimentId]);
      let after = UUID_MIN;
      for (;;) {
        const ends: { id: string }[] = await em.query(REBUILD_PAGE_END, [experimentId, after, REBUILD_PAGE_SIZE]);
        const end = ends[0]?.id ?? null;
        const [page]: { valued: number }[] = await em.query(REBUILD_RUN_VALUES_PAGE, [experimentId, after, end]);
        valued += page.valued;
        this.logger.log(`experiment ${experimentId}: rebuilding scores, ${valued} run(s) valued so far`);
        if (end === null) break;
        after = end;
      }
      for (const sql of REBUILD_AGGREGATES) await em.query(sql, [experimentId]);
    });
    this.logger.log(
      `experiment ${experimentId}: score model rebuilt, ${valued} run(s) with scores, in ${Date.now() - started} ms`,
    );
  }
}
