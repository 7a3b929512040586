import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { runPrepared, runSql } from '../database/sql';
import {
  APPLY_RUN_VALUES,
  LOCK_EXPERIMENT_EXCLUSIVE,
  LOCK_RUN_VALUES,
  MODEL_IS_CURRENT,
  REBUILD_AGGREGATES,
  REBUILD_CLEAR,
  REBUILD_PAGE_END,
  REBUILD_RUN_VALUES_PAGE,
  REVALUE_DONE,
  REVALUE_PAGE,
  REVALUE_PLAN,
  REVALUE_START,
  REVALUE_WEIGHTS_CURRENT,
} from './score-read-model.sql';

/** Runs valued per statement while an experiment is rebuilt (progress is logged per page). */
export const REBUILD_PAGE_SIZE = 50_000;

/**
 * Runs per page of a revalue: each page is a transaction under the experiment's exclusive lock,
 * so a score write of the experiment waits for at most one page (~0.3–1 s on 2 busy cores).
 */
export const REVALUE_PAGE_SIZE = 10_000;

export interface RebuildOptions {
  /** Hears every page of the rebuild; the next page waits for what it returns. */
  onProgress?: (progress: RebuildProgress) => void | Promise<void>;
  /** Rebuild from the scores even when the model is maintained (repairs; the benchmark's baseline). */
  fromScores?: boolean;
}

/** Where a rebuild is: `done` of `total` stored runs passed so far (a revalue), or valued (a full rebuild: total null). */
export interface RebuildProgress {
  experimentId: string;
  mode: 'revalue' | 'full';
  done: number;
  total: number | null;
  /** Runs whose value moved (a revalue) so far. */
  changed: number;
  elapsedMs: number;
}
const UUID_MIN = '00000000-0000-0000-0000-000000000000';

/**
 * The score read model: per-run values and per-configuration aggregates that the leaderboards and
 * the score-filtered runs list read (tables of migration ScoreReadModel). Every score write calls
 * `refresh` inside its own transaction, so the model moves with the scores atomically; a change of
 * weights calls `rebuild`, which recomputes one experiment's values in set-based SQL (from the
 * stored latest scores, or from the scores for a model never valued).
 *
 * Concurrency: a refresh holds a shared advisory lock on the run's experiment and an advisory lock
 * per run (taken before it reads the scores); a rebuild holds the experiment's lock exclusively,
 * for the whole rebuild from scores or for each page of a revalue. Two scorers of one run, a human
 * score racing an automatic one, or a rebuild racing new scores therefore always leave the
 * aggregates equal to a recomputation from scratch.
 */
@Injectable()
export class ScoreReadModel {
  private readonly logger = new Logger(ScoreReadModel.name);
  private readonly rebuilding = new Map<string, Promise<void>>();
  /** Runs per revalue page (REVALUE_PAGE_SIZE; tests make pages small to race writes between them). */
  revaluePageSize = REVALUE_PAGE_SIZE;

  constructor(private readonly dataSource: DataSource) {}

  /** Recomputes the given runs' values from their scores; call inside the score write's transaction. */
  async refresh(em: EntityManager, runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    const ids = [...new Set(runIds)].sort();
    // Prepared, and step 2 with its generic plan: these run in every score write, and planning
    // them cost as much as running them.
    const [locked] = await runPrepared<{ mode: string }>(em, 'score_model_lock_run_values', LOCK_RUN_VALUES, [ids]);
    await runPrepared(em, 'score_model_apply_run_values', APPLY_RUN_VALUES, [ids, locked.mode]);
  }

  /** Whether reads of the experiment may use the model with these weights (jsonb text). */
  async isCurrent(experimentId: string, weightsJson: string): Promise<boolean> {
    const rows: { current: boolean }[] = await this.dataSource.query(MODEL_IS_CURRENT, [experimentId, weightsJson]);
    return rows[0]?.current === true;
  }

  /**
   * Recomputes one experiment's values and aggregates with its current weights. Concurrent calls
   * for the same experiment share one rebuild that starts after the running one, so the last
   * weights always win. `onProgress` hears every page (each is also logged with its counts).
   *
   * A maintained model (every score write has refreshed it) only needs new values: a revalue
   * computes them from the stored latest scores page by page, each page its own short
   * transaction, so score writes wait at most one page and reads keep answering throughout
   * (exactly, with the set-based SQL, until the new weights are recorded at the end). Otherwise
   * (never valued: a backfill, data written past the scoring service) the experiment is rebuilt
   * from its scores in one transaction.
   */
  rebuild(experimentId: string, options: RebuildOptions = {}): Promise<void> {
    const previous = this.rebuilding.get(experimentId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.rebuildNow(experimentId, options));
    const tracked = next.finally(() => {
      if (this.rebuilding.get(experimentId) === tracked) this.rebuilding.delete(experimentId);
    });
    this.rebuilding.set(experimentId, tracked);
    return tracked;
  }

  private async rebuildNow(experimentId: string, { onProgress, fromScores }: RebuildOptions): Promise<void> {
    const started = Date.now();
    const report = async (progress: Omit<RebuildProgress, 'experimentId' | 'elapsedMs'>): Promise<void> => {
      const full: RebuildProgress = { experimentId, elapsedMs: Date.now() - started, ...progress };
      this.logger.log(
        full.mode === 'revalue'
          ? `experiment ${experimentId}: revaluing runs for new weights, ${full.done}/${full.total} passed, ${full.changed} changed`
          : `experiment ${experimentId}: rebuilding scores, ${full.done} run(s) valued so far`,
      );
      await onProgress?.(full);
    };
    const [start]: { weights: string; maintained: boolean; total: number }[] = await this.dataSource.query(
      REVALUE_START,
      [experimentId],
    );
    if (start === undefined) return; // the experiment is gone
    if (start.maintained && fromScores !== true) {
      const { done, changed, superseded } = await this.revalue(experimentId, start.weights, start.total, report);
      this.logger.log(
        superseded
          ? `experiment ${experimentId}: revalue stopped after ${done} run(s): its weights changed meanwhile (the newer change's rebuild revalues)`
          : `experiment ${experimentId}: score model revalued, ${done} run(s) passed, ${changed} changed, in ${Date.now() - started} ms`,
      );
      return;
    }
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
        await report({ mode: 'full', done: valued, total: null, changed: valued });
        if (end === null) break;
        after = end;
      }
      for (const sql of REBUILD_AGGREGATES) await em.query(sql, [experimentId]);
    });
    this.logger.log(
      `experiment ${experimentId}: score model rebuilt, ${valued} run(s) with scores, in ${Date.now() - started} ms`,
    );
  }

  /**
   * New values under `weights` (jsonb text) for every stored run of the experiment, a page of
   * runs per transaction under the experiment's exclusive lock; the weights are recorded last.
   * Refreshes between pages value their runs with the experiment's weights of that moment: the
   * same weights, or newer ones whose own rebuild (queued behind this one) revalues every run again.
   */
  private async revalue(
    experimentId: string,
    weights: string,
    total: number,
    report: (progress: Omit<RebuildProgress, 'experimentId' | 'elapsedMs'>) => Promise<void>,
  ): Promise<{ done: number; changed: number; superseded: boolean }> {
    let done = 0;
    let changed = 0;
    let after = UUID_MIN;
    for (;;) {
      const end = await this.dataSource.transaction(async (em) => {
        await em.query(LOCK_EXPERIMENT_EXCLUSIVE, [experimentId]);
        const [still]: { current: boolean }[] = await em.query(REVALUE_WEIGHTS_CURRENT, [experimentId, weights]);
        if (still?.current !== true) return 'superseded' as const;
        // The page's rows are updated by their tuple ids (probes), never through a hash of the whole table.
        await em.query(REVALUE_PLAN);
        const ends: { id: string }[] = await em.query(REBUILD_PAGE_END, [experimentId, after, this.revaluePageSize]);
        const pageEnd = ends[0]?.id ?? null;
        const [page]: { stored: number; changed: number }[] = await em.query(REVALUE_PAGE, [
          experimentId,
          after,
          pageEnd,
          weights,
        ]);
        done += page.stored;
        changed += page.changed;
        return pageEnd;
      });
      if (end === 'superseded') return { done, changed, superseded: true };
      // `total` was counted before the first page: runs scored since can make `done` pass it.
      await report({ mode: 'revalue', done, total, changed });
      if (end === null) break;
      after = end;
    }
    const recorded = await this.dataSource.transaction(async (em) => {
      await em.query(LOCK_EXPERIMENT_EXCLUSIVE, [experimentId]);
      return runSql(em, REVALUE_DONE, [experimentId, weights]);
    });
    return { done, changed, superseded: recorded.count === 0 };
  }
}
