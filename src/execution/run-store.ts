import { isoSql, outboxInsertCte } from '../outbox/outbox-sql';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RunConfig } from '../domain/configs';
import { RunStatus } from '../domain/statuses';
import { queryRows } from '../database/sql';

/** A run this process holds the lease of. */
export interface ClaimedRun {
  id: string;
  experimentId: string;
  projectId: string;
  config: RunConfig;
  attempt: number;
  /** A completed run of the same project, hash, repetition and stages to copy, when the cache applies. */
  cacheSourceId: string | null;
}

/** One row of stage_results as the executor writes it. */
export interface StageRecord {
  stage_name: string;
  stage_index: number;
  prompt: string;
  output: string | null;
  model: string;
  tokens_in: number | null;
  tokens_out: number | null;
  duration_ms: number | null;
  cost: number | null;
  error: string | null;
  tool_calls: Array<{ id: string; name: string; arguments: unknown }> | null;
  finish_reason: string | null;
}

export interface RunTotals {
  output: string | null;
  tokensIn: number | null;
  tokensOut: number | null;
  cost: number | null;
  durationMs: number;
}

/** A run's `stages`, or NULL when it has none (absent, null and [] are the same pipeline). */
const STAGES_OF = (alias: string) =>
  `NULLIF(CASE WHEN jsonb_typeof(${alias}.config->'stages') = 'array' THEN ${alias}.config->'stages' END, '[]'::jsonb)`;

/**
 * Claims a pending run and, in the same statement, looks for a cache source. The lookup runs on
 * the snapshot before the claim, where this run is still pending, so it never finds itself.
 * `config_hash` leaves `stages` out, so the stages must match too (jsonb equality ignores key order).
 */
const CLAIM_SQL = `
WITH claimed AS (
  UPDATE runs
     SET status = 'running', lease_owner = $2, lease_expires_at = now() + $3::int * interval '1 millisecond',
         started_at = coalesce(started_at, now()), error = NULL, updated_at = now()
   WHERE id = $1 AND status = 'pending'
  RETURNING id, experiment_id, project_id, config, config_hash, repetition, use_cache, attempt
)
SELECT c.id, c.experiment_id, c.project_id, c.config, c.attempt, src.id AS cache_source_id
  FROM claimed c
  LEFT JOIN LATERAL (
    SELECT s.id
      FROM runs s
     WHERE c.use_cache
       AND s.project_id = c.project_id AND s.config_hash = c.config_hash AND s.repetition = c.repetition
       AND s.status = 'completed' AND s.id <> c.id
       AND ${STAGES_OF('s')} IS NOT DISTINCT FROM ${STAGES_OF('c')}
     ORDER BY s.cache_hit, s.completed_at, s.id
     LIMIT 1
  ) src ON true`;

/**
 * stage_results upsert shared by completion and failure: keyed by (run_id, stage_index), so rows a
 * failed earlier execution wrote (before a retry) are replaced, never duplicated.
 */
const UPSERT_STAGES = `
ON CONFLICT ON CONSTRAINT uq_stage_results_run_stage DO UPDATE
   SET stage_name = EXCLUDED.stage_name, prompt = EXCLUDED.prompt, output = EXCLUDED.output, model = EXCLUDED.model,
       tokens_in = EXCLUDED.tokens_in, tokens_out = EXCLUDED.tokens_out, duration_ms = EXCLUDED.duration_ms,
       cost = EXCLUDED.cost, error = EXCLUDED.error, tool_calls = EXCLUDED.tool_calls,
       finish_reason = EXCLUDED.finish_reason, created_at = now()`;

const STAGE_RECORDSET = `jsonb_to_recordset($STAGES::jsonb) AS s(stage_name text, stage_index int, prompt text, output text, model text,
  tokens_in int, tokens_out int, duration_ms int, cost numeric, error text, tool_calls jsonb, finish_reason text)`;

/** Columns of an ended run that make its RunResponse (the `data` of run.completed / run.failed). */
const RUN_EVENT_RETURNING = `id, experiment_id, project_id, config_hash, config, status, started_at, completed_at, duration_ms,
  tokens_in, tokens_out, cost_estimate, cache_hit, error`;

/**
 * The run.completed / run.failed outbox event of the `done` row, in the same statement (opt-in: only
 * when subscribed). A run cancelled by its budget has no event of its own (experiment.cancelled says it).
 */
function runEventCte(status: RunStatus.Completed | RunStatus.Failed | RunStatus.Cancelled): string {
  if (status === RunStatus.Cancelled) return 'evt_notified AS (SELECT 1 WHERE false)';
  return outboxInsertCte('evt', {
    from: 'done',
    type: status === RunStatus.Completed ? 'run.completed' : 'run.failed',
    projectId: 'f.project_id',
    resourceId: 'f.id',
    href: `'/api/runs/' || f.id`,
    data: `json_build_object('id', f.id, 'experiment_id', f.experiment_id, 'config_hash', f.config_hash, 'config', f.config,
  'status', f.status, 'started_at', ${isoSql('f.started_at')}, 'completed_at', ${isoSql('f.completed_at')},
  'duration_ms', f.duration_ms, 'tokens_in', f.tokens_in, 'tokens_out', f.tokens_out, 'cost_estimate', f.cost_estimate,
  'cache_hit', f.cache_hit, 'error', f.error)`,
  });
}

/**
 * Ends a run this process holds in one statement (one transaction): the conditional UPDATE of the
 * run, then its stage rows from the UPDATE's result, so a duplicate delivery, a run cancelled
 * meanwhile or a lost lease writes nothing at all.
 */
function finishSql(status: RunStatus.Completed | RunStatus.Failed | RunStatus.Cancelled): string {
  return `
WITH done AS (
  UPDATE runs
     SET status = '${status}', output = $3, tokens_in = $4, tokens_out = $5, cost_estimate = $6, duration_ms = $7,
         error = $8, cache_hit = false, cached_from_run_id = NULL, completed_at = now(), lease_expires_at = NULL, updated_at = now()
   WHERE id = $1 AND status = 'running' AND lease_owner = $2
  RETURNING ${RUN_EVENT_RETURNING}
), ${runEventCte(status)}, stages AS (
  INSERT INTO stage_results (run_id, stage_name, stage_index, prompt, output, model, tokens_in, tokens_out, duration_ms, cost, error,
                             tool_calls, finish_reason)
  SELECT done.id, s.stage_name, s.stage_index, s.prompt, s.output, s.model, s.tokens_in, s.tokens_out, s.duration_ms, s.cost, s.error,
         s.tool_calls, s.finish_reason
    FROM done CROSS JOIN ${STAGE_RECORDSET.replace('$STAGES', '$9')}
  ${UPSERT_STAGES}
)
SELECT experiment_id, (SELECT count(*) FROM evt_notified) AS events FROM done`;
}

/** A cache hit: the source's output, tokens and stage rows copied, cost 0, pointing at the original run. */
const CACHE_HIT_SQL = `
WITH done AS (
  UPDATE runs r
     SET status = 'completed', output = src.output, tokens_in = src.tokens_in, tokens_out = src.tokens_out,
         cost_estimate = 0, duration_ms = $4, error = NULL, cache_hit = true,
         cached_from_run_id = coalesce(src.cached_from_run_id, src.id),
         completed_at = now(), lease_expires_at = NULL, updated_at = now()
    FROM runs src
   WHERE r.id = $1 AND r.status = 'running' AND r.lease_owner = $2 AND src.id = $3 AND src.status = 'completed'
  RETURNING ${RUN_EVENT_RETURNING.replace(/(^|, |\n {2})(\w+)/g, '$1r.$2')}
), ${runEventCte(RunStatus.Completed)}, stages AS (
  INSERT INTO stage_results (run_id, stage_name, stage_index, prompt, output, model, tokens_in, tokens_out, duration_ms, cost, error,
                             tool_calls, finish_reason)
  SELECT done.id, s.stage_name, s.stage_index, s.prompt, s.output, s.model, s.tokens_in, s.tokens_out, s.duration_ms, 0, s.error,
         s.tool_calls, s.finish_reason
    FROM done JOIN stage_results s ON s.run_id = $3
  ${UPSERT_STAGES}
)
SELECT experiment_id, (SELECT count(*) FROM evt_notified) AS events FROM done`;

/** The executor's reads and writes of runs: every write is conditional on holding the lease. */
@Injectable()
export class RunStore {
  constructor(private readonly dataSource: DataSource) {}

  async claim(runId: string, owner: string, leaseMs: number): Promise<ClaimedRun | null> {
    const rows = await queryRows<{
      id: string;
      experiment_id: string;
      project_id: string;
      config: RunConfig;
      attempt: number;
      cache_source_id: string | null;
    }>(this.dataSource, CLAIM_SQL, [runId, owner, leaseMs]);
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.id,
      experimentId: row.experiment_id,
      projectId: row.project_id,
      config: row.config,
      attempt: row.attempt,
      cacheSourceId: row.cache_source_id,
    };
  }

  /** Extends the lease; false when the run is no longer ours to finish (cancelled, or handed to another worker). */
  async renew(runId: string, owner: string, leaseMs: number): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE runs SET lease_expires_at = now() + $3::int * interval '1 millisecond'
        WHERE id = $1 AND status = 'running' AND lease_owner = $2 RETURNING id`,
      [runId, owner, leaseMs],
    );
    return rows.length > 0;
  }

  async complete(runId: string, owner: string, totals: RunTotals, stages: StageRecord[]): Promise<boolean> {
    return this.finish(RunStatus.Completed, runId, owner, totals, null, stages);
  }

  async fail(runId: string, owner: string, error: string, totals: RunTotals, stages: StageRecord[]): Promise<boolean> {
    return this.finish(RunStatus.Failed, runId, owner, totals, error, stages);
  }

  /** Ends a run this process holds as cancelled with a reason (its budget is exhausted), keeping what it spent. */
  async cancel(
    runId: string,
    owner: string,
    error: string,
    totals: RunTotals,
    stages: StageRecord[],
  ): Promise<boolean> {
    return this.finish(RunStatus.Cancelled, runId, owner, totals, error, stages);
  }

  async completeFromCache(runId: string, owner: string, sourceId: string, durationMs: number): Promise<boolean> {
    const rows = await queryRows(this.dataSource, CACHE_HIT_SQL, [runId, owner, sourceId, durationMs]);
    return rows.length > 0;
  }

  /** Gives a run back to the queue (pending, lease cleared) for another delivery. */
  async release(runId: string, owner: string): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE runs SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE id = $1 AND status = 'running' AND lease_owner = $2 RETURNING id`,
      [runId, owner],
    );
    return rows.length > 0;
  }

  async status(runId: string): Promise<RunStatus | null> {
    const rows = await queryRows<{ status: RunStatus }>(this.dataSource, 'SELECT status FROM runs WHERE id = $1', [
      runId,
    ]);
    return rows[0]?.status ?? null;
  }

  private async finish(
    status: RunStatus.Completed | RunStatus.Failed | RunStatus.Cancelled,
    runId: string,
    owner: string,
    totals: RunTotals,
    error: string | null,
    stages: StageRecord[],
  ): Promise<boolean> {
    const rows = await queryRows(this.dataSource, finishSql(status), [
      runId,
      owner,
      totals.output,
      totals.tokensIn,
      totals.tokensOut,
      totals.cost,
      totals.durationMs,
      error,
      JSON.stringify(stages),
    ]);
    return rows.length > 0;
  }
}
