import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { GroupCommit } from '../common/group-commit';
import { queryRows, runSql } from '../database/sql';
import { RunConfig } from '../domain/configs';
import { RunStatus } from '../domain/statuses';
import { isoSql, outboxInsertCte } from '../outbox/outbox-sql';

/*
 * THE owner of the `runs` and `stage_results` tables: every write to them is a named method of
 * RunRepository below, with its SQL beside it. Other modules call these methods (inside their own
 * transaction where they pass an EntityManager); nothing else writes these tables. Reads for
 * rankings and exports are the documented read models (leaderboard.sql.ts, runs.sql.ts, export).
 */

type Db = DataSource | EntityManager;

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
  /** The sum of the stages' durations (provider time); null when no stage ran. */
  durationMs: number | null;
  /** Provider calls made for the run, retries included. */
  attempts: number;
}

/** A run's `stages`, or NULL when it has none (absent, null and [] are the same pipeline). */
const STAGES_OF = (alias: string) =>
  `NULLIF(CASE WHEN jsonb_typeof(${alias}.config->'stages') = 'array' THEN ${alias}.config->'stages' END, '[]'::jsonb)`;

/**
 * Claims pending runs (one JSON array of {id, owner}: a batch of claims in one statement) and, in
 * the same statement, looks for each one's cache source. The lookup runs on the snapshot before
 * the claim, where these runs are still pending, so it never finds one of them.
 * `config_hash` leaves `stages` out, so the stages must match too (jsonb equality ignores key order).
 * Each claimed row comes back with the owner that holds it now (a run asked for twice is claimed once).
 */
const CLAIM_SQL = `
WITH wanted AS (
  SELECT DISTINCT ON (w.id) w.id, w.owner, w.lease_ms
    FROM jsonb_to_recordset($1::jsonb) AS w(id uuid, owner text, lease_ms int)
   ORDER BY w.id, w.owner
), claimed AS (
  UPDATE runs r
     SET status = 'running', lease_owner = w.owner, lease_expires_at = now() + w.lease_ms * interval '1 millisecond',
         started_at = coalesce(r.started_at, now()), error = NULL, updated_at = now(),
         -- updated_at (the old row's) is when the run last became pending: its dispatch.
         queue_ms = greatest(round(extract(epoch FROM now() - r.updated_at) * 1000), 0)::int
    FROM wanted w
   WHERE r.id = w.id AND r.status = 'pending'
  RETURNING r.id, r.experiment_id, r.project_id, r.config, r.config_hash, r.repetition, r.use_cache, r.attempt, r.lease_owner
)
SELECT c.id, c.lease_owner, c.experiment_id, c.project_id, c.config, c.attempt, src.id AS cache_source_id
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
  queue_ms, attempts, tokens_in, tokens_out, cost_estimate, cache_hit, error`;

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
  'duration_ms', f.duration_ms, 'queue_ms', f.queue_ms, 'attempts', f.attempts, 'tokens_in', f.tokens_in, 'tokens_out', f.tokens_out, 'cost_estimate', f.cost_estimate,
  'cache_hit', f.cache_hit, 'error', f.error)`,
  });
}

/**
 * Ends runs this process holds, a batch of them in one statement (one transaction; $1 is a JSON
 * array of {id, owner, output, tokens_in, tokens_out, cost, duration_ms, error, attempts, stages}):
 * the conditional UPDATE of each run, then the stage rows of the runs it updated, so a duplicate
 * delivery, a run cancelled meanwhile or a lost lease writes nothing at all for that run. Each
 * finished row comes back with its owner.
 */
function finishSql(status: RunStatus.Completed | RunStatus.Failed | RunStatus.Cancelled): string {
  return `
WITH x AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, owner text, output text, tokens_in int, tokens_out int,
         cost numeric, duration_ms int, error text, attempts int, stages jsonb)
), done AS (
  UPDATE runs r
     SET status = '${status}', output = x.output, tokens_in = x.tokens_in, tokens_out = x.tokens_out, cost_estimate = x.cost,
         duration_ms = x.duration_ms, error = x.error, attempts = x.attempts, cache_hit = false, cached_from_run_id = NULL,
         completed_at = now(), lease_expires_at = NULL, updated_at = now()
    FROM x
   WHERE r.id = x.id AND r.status = 'running' AND r.lease_owner = x.owner
  RETURNING ${RUN_EVENT_RETURNING.replace(/(^|, |\n {2})(\w+)/g, '$1r.$2')}, r.lease_owner
), ${runEventCte(status)}, stages AS (
  INSERT INTO stage_results (run_id, stage_name, stage_index, prompt, output, model, tokens_in, tokens_out, duration_ms, cost, error,
                             tool_calls, finish_reason)
  SELECT done.id, s.stage_name, s.stage_index, s.prompt, s.output, s.model, s.tokens_in, s.tokens_out, s.duration_ms, s.cost, s.error,
         s.tool_calls, s.finish_reason
    FROM done JOIN x ON x.id = done.id AND x.owner = done.lease_owner
   CROSS JOIN LATERAL ${STAGE_RECORDSET.replace('$STAGES::jsonb', 'x.stages')}
  ${UPSERT_STAGES}
)
SELECT id, lease_owner, (SELECT count(*) FROM evt_notified) AS events FROM done`;
}

/**
 * A cache hit: the source's output, tokens, duration (what the model took to produce this output) and
 * stage rows copied, cost 0 and no provider call (attempts 0), pointing at the original run.
 */
const CACHE_HIT_SQL = `
WITH done AS (
  UPDATE runs r
     SET status = 'completed', output = src.output, tokens_in = src.tokens_in, tokens_out = src.tokens_out,
         cost_estimate = 0, duration_ms = src.duration_ms, attempts = 0, error = NULL, cache_hit = true,
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

/**
 * Group commit of the executor's statements: at most this many rows per statement, and this many
 * statements of a kind in flight (the pool keeps connections for the rest of the process).
 */
const BATCHING = { maxRows: 64, maxInFlight: 2 };

interface ClaimRow {
  id: string;
  owner: string;
  lease_ms: number;
}

/** One run to end, as finishSql reads it. */
interface FinishRow {
  id: string;
  owner: string;
  output: string | null;
  tokens_in: number | null;
  tokens_out: number | null;
  cost: number | null;
  duration_ms: number | null;
  error: string | null;
  attempts: number;
  stages: StageRecord[];
}

/**
 * A batch of a launch's runs by reference: column arrays, one entry per run (ids generated by the
 * caller, time-ordered), naming the parts of its config in `parts` and `inputs`. A dataset run's
 * `input_data` is its item's `data`, read from dataset_items in the same statement (the item never
 * travels back), so the runs of a 100,000-item launch carry no JSON text but these columns.
 */
export interface LaunchBatch {
  /** JSON text of `{prompts, models, params: [prompt][combo], versions: [prompt], extra}` (grid-expansion PlanParts). */
  parts: string;
  /** JSON text of the inline inputs `items` points into; null for a dataset launch. */
  inputs: string | null;
  /** The pinned dataset version whose items `itemKeys` name; null for inline inputs. */
  datasetVersionId: string | null;
  useCache: boolean;
  ids: string[];
  hashes: string[];
  prompts: number[];
  models: number[];
  combos: number[];
  /** Index into `inputs` (inline inputs); unused for dataset runs. */
  items: number[];
  repetitions: number[];
  /** The dataset item of each run; null for inline inputs. */
  itemKeys: Array<string | null>;
}

/** A run whose lease expired, as the sweeper handed it on: pending again, or failed for good. */
export interface ExpiredRun {
  id: string;
  experiment_id: string;
  status: RunStatus;
  attempt: number;
  /** Times its lease has expired, this one included. */
  lease_expiries: number;
  error: string | null;
  /** The lease owner whose lease expired (its process stopped without finishing the run). */
  previous_owner: string | null;
}

/**
 * A launch batch in one statement, every run's config assembled here from the batch's columns and
 * its shared parts, key for key what the grid's RunConfig is: prompt, model, params, input_data,
 * repetition, plus `stages` / `cache: false` from `extra`. Dataset items are joined on the
 * version's unique (version_id, item_key) index, one lookup per run. Runs are inserted in the columns' order (ids are
 * time-ordered, so the primary key appends).
 */
const INSERT_BATCH_SQL = `
  -- MATERIALIZED: the parts and inputs are parsed once per statement, not once per run.
  WITH g AS MATERIALIZED (SELECT $3::jsonb AS parts, $4::jsonb AS inputs)
  INSERT INTO runs (id, experiment_id, project_id, config, config_hash, repetition, use_cache, dataset_item_key, prompt_version)
  SELECT c.id, $1, $2,
         jsonb_build_object('prompt', g.parts->'prompts'->c.p, 'model', g.parts->'models'->c.m,
                            'params', g.parts->'params'->c.p->c.s,
                            'input_data', CASE WHEN c.item_key IS NULL THEN g.inputs->c.i ELSE di.data END,
                            'repetition', c.rep) || (g.parts->'extra'),
         c.hash, c.rep, $6, c.item_key, NULLIF(g.parts->'versions'->c.p, 'null'::jsonb)
    FROM g
   CROSS JOIN unnest($7::uuid[], $8::text[], $9::int[], $10::int[], $11::int[], $12::int[], $13::int[], $14::text[])
           WITH ORDINALITY AS c(id, hash, p, m, s, i, rep, item_key, n)
    -- LATERAL … LIMIT 1 keeps this an index lookup per run: a plain join hashes the whole version per batch.
    LEFT JOIN LATERAL (SELECT d.data FROM dataset_items d WHERE d.version_id = $5 AND d.item_key = c.item_key LIMIT 1) di
      ON true
   ORDER BY c.n`;

/** The one meaning of "cancelled" for a run: ended now, lease cleared (single run, experiment, budget alike). */
const CANCEL_SET = `status = 'cancelled', completed_at = now(), updated_at = now(), lease_owner = NULL, lease_expires_at = NULL`;

const CANCEL_EXPERIMENT_SQL = `
  UPDATE runs SET ${CANCEL_SET}
   WHERE experiment_id = $1 AND status IN ('pending', 'running')
  RETURNING id`;

const CANCEL_PENDING_SQL = `
  UPDATE runs SET ${CANCEL_SET}, error = $2
   WHERE experiment_id = $1 AND status = 'pending'
  RETURNING id`;

const CANCEL_ONE_SQL = `
  UPDATE runs SET ${CANCEL_SET}
   WHERE id = $1 AND status IN ('pending', 'running')
  RETURNING *`;

/** One pending ad-hoc run (repetition 0, attempt 0). */
const INSERT_ONE_SQL = `
  INSERT INTO runs (experiment_id, project_id, config, config_hash, repetition, use_cache)
  VALUES ($1, $2, $3::jsonb, $4, 0, $5)
  RETURNING *`;

const DELETE_FAILED_STAGES_SQL = `
  DELETE FROM stage_results s USING runs r WHERE s.run_id = r.id AND r.experiment_id = $1 AND r.status = 'failed'`;

/** Failed → pending with attempt + 1 (a new queue job id), every result of the failed execution cleared (lease expiries too). */
const RETRY_FAILED_SQL = `
  UPDATE runs SET status = 'pending', attempt = attempt + 1, lease_expiries = 0, error = NULL, output = NULL, started_at = NULL,
         completed_at = NULL, duration_ms = NULL, queue_ms = NULL, attempts = NULL, tokens_in = NULL, tokens_out = NULL,
         cost_estimate = NULL, cache_hit = false, cached_from_run_id = NULL, scoring_errors = NULL, lease_owner = NULL,
         lease_expires_at = NULL, updated_at = now()
   WHERE experiment_id = $1 AND status = 'failed'
  RETURNING id`;

/**
 * Leases past their expiry → pending again (attempt + 1 for a fresh job id, lease_expiries + 1), or
 * failed once lease_expiries reaches $2: only expiries count, not the requeues infrastructure caused.
 * SKIP LOCKED: a run being finished is not expired.
 */
const REQUEUE_EXPIRED_SQL = `
WITH expired AS (
  SELECT id, lease_owner FROM runs
   WHERE status = 'running' AND lease_expires_at < now()
   ORDER BY lease_expires_at LIMIT $1
     FOR UPDATE SKIP LOCKED
)
UPDATE runs r
   SET status = CASE WHEN r.lease_expiries >= $2 THEN 'failed'::run_status ELSE 'pending'::run_status END,
       error = CASE WHEN r.lease_expiries >= $2
                    THEN 'Abandoned: its worker stopped without finishing it ' || (r.lease_expiries + 1) || ' times (lease expired)' END,
       completed_at = CASE WHEN r.lease_expiries >= $2 THEN now() END,
       attempt = r.attempt + 1, lease_expiries = r.lease_expiries + 1,
       lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
  FROM expired
 WHERE r.id = expired.id
RETURNING r.id, r.experiment_id, r.status, r.attempt, r.lease_expiries, r.error, expired.lease_owner AS previous_owner`;

/** attempt + 1 for pending runs nobody moved meanwhile (same attempt): their next delivery gets a fresh job id. */
const BUMP_ORPHANS_SQL = `
  UPDATE runs r SET attempt = r.attempt + 1, updated_at = now()
    FROM unnest($1::uuid[], $2::int[]) AS t(id, attempt)
   WHERE r.id = t.id AND r.attempt = t.attempt AND r.status = 'pending'
  RETURNING r.id, r.experiment_id, r.attempt`;

const MARK_SCORED_SQL = `UPDATE runs SET scored_at = now() WHERE id = $1 AND scored_at IS NULL`;

/** scoring_errors (and scored_at) per run from one JSON array of {run_id, errors}; no errors → NULL. */
const RECORD_SCORING_SQL = `
  UPDATE runs r SET scoring_errors = NULLIF(x.errors, 'null'::jsonb), scored_at = now()
    FROM jsonb_to_recordset($1::jsonb) AS x(run_id uuid, errors jsonb)
   WHERE r.id = x.run_id`;

/**
 * Every transition of a run, each a named method: the executor's are conditional on holding the
 * lease; the others (launch, cancel, retry, sweeper, scoring stamps) run in their caller's
 * transaction when it passes one.
 */
@Injectable()
export class RunRepository {
  /** The executor's claims and endings, group-committed (see GroupCommit): exactly-once per row as before. */
  private readonly claims = new GroupCommit<ClaimRow, ClaimedRun | null>((rows) => this.claimBatch(rows), BATCHING);
  private readonly finishes = {
    [RunStatus.Completed]: new GroupCommit<FinishRow, boolean>(
      (rows) => this.finishBatch(RunStatus.Completed, rows),
      BATCHING,
    ),
    [RunStatus.Failed]: new GroupCommit<FinishRow, boolean>(
      (rows) => this.finishBatch(RunStatus.Failed, rows),
      BATCHING,
    ),
    [RunStatus.Cancelled]: new GroupCommit<FinishRow, boolean>(
      (rows) => this.finishBatch(RunStatus.Cancelled, rows),
      BATCHING,
    ),
  };

  constructor(private readonly dataSource: DataSource) {}

  /** Inserts one launch batch; the number of runs inserted. */
  async insertBatch(db: Db, experimentId: string, projectId: string, batch: LaunchBatch): Promise<number> {
    const { count } = await runSql(db, INSERT_BATCH_SQL, [
      experimentId,
      projectId,
      batch.parts,
      batch.inputs,
      batch.datasetVersionId,
      batch.useCache,
      batch.ids,
      batch.hashes,
      batch.prompts,
      batch.models,
      batch.combos,
      batch.items,
      batch.repetitions,
      batch.itemKeys,
    ]);
    return count;
  }

  /** Pending and running runs of the experiment → cancelled; their ids. */
  async cancelExperiment(db: Db, experimentId: string): Promise<string[]> {
    return (await runSql<{ id: string }>(db, CANCEL_EXPERIMENT_SQL, [experimentId])).rows.map((r) => r.id);
  }

  /** Pending runs of the experiment → cancelled with `error` (budget exhausted); their ids. */
  async cancelPending(db: Db, experimentId: string, error: string): Promise<string[]> {
    return (await runSql<{ id: string }>(db, CANCEL_PENDING_SQL, [experimentId, error])).rows.map((r) => r.id);
  }

  /** One pending or running run → cancelled; its row (every column), or null when it had ended already. */
  async cancelOne<T>(db: Db, runId: string): Promise<T | null> {
    return (await runSql<T>(db, CANCEL_ONE_SQL, [runId])).rows[0] ?? null;
  }

  /** One pending ad-hoc run; its row (every column). */
  async insertOne<T>(
    db: Db,
    run: { experimentId: string; projectId: string; config: RunConfig; configHash: string; useCache: boolean },
  ): Promise<T> {
    const { rows } = await runSql<T>(db, INSERT_ONE_SQL, [
      run.experimentId,
      run.projectId,
      JSON.stringify(run.config),
      run.configHash,
      run.useCache,
    ]);
    return rows[0];
  }

  /** Failed runs → pending again, their partial stage rows removed; the requeued ids. */
  async retryFailed(db: Db, experimentId: string): Promise<string[]> {
    await runSql(db, DELETE_FAILED_STAGES_SQL, [experimentId]);
    return (await runSql<{ id: string }>(db, RETRY_FAILED_SQL, [experimentId])).rows.map((r) => r.id);
  }

  /** The experiment's stage rows and runs, one set-based DELETE each (scores go first, through scoring). */
  async deleteOfExperiment(db: Db, experimentId: string): Promise<void> {
    await runSql(db, `DELETE FROM stage_results s USING runs r WHERE s.run_id = r.id AND r.experiment_id = $1`, [
      experimentId,
    ]);
    await runSql(db, `DELETE FROM runs WHERE experiment_id = $1`, [experimentId]);
  }

  /** Up to `limit` runs whose lease expired: pending again, or failed once their lease expired `maxRequeues` + 1 times. */
  async requeueExpired(limit: number, maxRequeues: number): Promise<ExpiredRun[]> {
    return queryRows<ExpiredRun>(this.dataSource, REQUEUE_EXPIRED_SQL, [limit, maxRequeues]);
  }

  /** attempt + 1 for pending runs without a live delivery, where nobody moved them meanwhile. */
  async bumpOrphans(
    orphans: { id: string; attempt: number }[],
  ): Promise<{ id: string; experiment_id: string; attempt: number }[]> {
    return queryRows(this.dataSource, BUMP_ORPHANS_SQL, [orphans.map((o) => o.id), orphans.map((o) => o.attempt)]);
  }

  /** Stamps scored_at on a run whose declared scorers have all written. */
  async markScored(db: Db, runId: string): Promise<void> {
    await runSql(db, MARK_SCORED_SQL, [runId]);
  }

  /** scoring_errors and scored_at for many runs (`errors`: JSON text of [{run_id, errors}]). */
  async recordScoring(db: Db, errors: string): Promise<void> {
    await runSql(db, RECORD_SCORING_SQL, [errors]);
  }

  /**
   * pending → running with a lease held by `owner`; the run, or null when it was not pending
   * (duplicate delivery, ended, cancelled). Claims made close together share one statement.
   */
  claim(runId: string, owner: string, leaseMs: number): Promise<ClaimedRun | null> {
    return this.claims.submit({ id: runId, owner, lease_ms: leaseMs });
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

  async completeFromCache(runId: string, owner: string, sourceId: string): Promise<boolean> {
    const rows = await queryRows(this.dataSource, CACHE_HIT_SQL, [runId, owner, sourceId]);
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

  private finish(
    status: RunStatus.Completed | RunStatus.Failed | RunStatus.Cancelled,
    runId: string,
    owner: string,
    totals: RunTotals,
    error: string | null,
    stages: StageRecord[],
  ): Promise<boolean> {
    const row: FinishRow = {
      id: runId,
      owner,
      output: totals.output,
      tokens_in: totals.tokensIn,
      tokens_out: totals.tokensOut,
      cost: totals.cost,
      duration_ms: totals.durationMs,
      error,
      attempts: totals.attempts,
      stages,
    };
    return this.finishes[status].submit(row);
  }

  private async claimBatch(wanted: ClaimRow[]): Promise<(ClaimedRun | null)[]> {
    const rows = await queryRows<{
      id: string;
      lease_owner: string;
      experiment_id: string;
      project_id: string;
      config: RunConfig;
      attempt: number;
      cache_source_id: string | null;
    }>(this.dataSource, CLAIM_SQL, [JSON.stringify(wanted)]);
    const byKey = new Map(rows.map((row) => [`${row.id}:${row.lease_owner}`, row]));
    return wanted.map((w) => {
      const row = byKey.get(`${w.id}:${w.owner}`);
      if (!row) return null;
      return {
        id: row.id,
        experimentId: row.experiment_id,
        projectId: row.project_id,
        config: row.config,
        attempt: row.attempt,
        cacheSourceId: row.cache_source_id,
      };
    });
  }

  private async finishBatch(
    status: RunStatus.Completed | RunStatus.Failed | RunStatus.Cancelled,
    batch: FinishRow[],
  ): Promise<boolean[]> {
    const rows = await queryRows<{ id: string; lease_owner: string }>(this.dataSource, finishSql(status), [
      JSON.stringify(batch),
    ]);
    const done = new Set(rows.map((row) => `${row.id}:${row.lease_owner}`));
    return batch.map((row) => done.has(`${row.id}:${row.owner}`));
  }
}
