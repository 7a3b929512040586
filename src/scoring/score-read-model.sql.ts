/**
 * SQL of the score read model (tables of migration ScoreReadModel; scoring/ owns and writes them).
 *
 * A run's value is the leaderboard's (API.md, "Leaderboard"): per scorer its latest score (by
 * created_at, then id), then Σ w·v / Σ w over the scorers with a numeric weight, or the plain mean
 * where Σ w = 0. Weights are the experiment's `scoring_config.weights` when that is an object.
 * Sums are kept as numeric over each value's exact decimal (`float8::text` is the shortest
 * round-trip form), so adding and later removing a run's contribution cancels exactly and the
 * variance needs no cancellation-prone float arithmetic.
 */
import { weightedScoreSql } from '../domain/weighted-score';

/** The pass threshold whose pass counts the configuration aggregates keep (the leaderboard's default). */
/**
 * The average of all of a run's scores (the runs list's min_score/max_score), exact: each float8
 * score as its decimal text, summed in numeric, rounded once to float8. A float8 avg() depends on
 * the order it adds the values in, so a run whose scores average exactly 0.8 could fall on either
 * side of `>= 0.8`; this cannot.
 */
export const AVG_ALL_OF = (alias: string): string => `avg(${alias}.value::text::numeric)::float8`;

export const MODEL_PASS_THRESHOLD = 0.5;

/** The experiment's weights as jsonb ({} when absent or not an object), for experiment alias `e`. */
const WEIGHTS_OF_E = `CASE WHEN jsonb_typeof(e.scoring_config -> 'weights') = 'object' THEN e.scoring_config -> 'weights' ELSE '{}'::jsonb END`;

/** A run's full configuration cell [prompt, model, params] for run alias `r`. */
export const CELL_OF_R = `jsonb_build_array(r.config -> 'prompt', r.config -> 'model', coalesce(r.config -> 'params', '{}'::jsonb))`;

/**
 * `fresh`: the current value state of the runs chosen by `runFilter` (over runs `r`), computed
 * from `scores` — one row per run, `avg_all` null when the run has no score at all.
 */
function freshCte(runFilter: string): string {
  return `
target AS (
  SELECT r.id AS run_id, r.experiment_id, r.project_id, (r.status = 'completed') AS completed, r.completed_at,
         r.duration_ms, r.cost_estimate, ${CELL_OF_R} AS cell, ${WEIGHTS_OF_E} AS weights
  FROM runs r JOIN experiments e ON e.id = r.experiment_id
  WHERE ${runFilter}
),
fresh AS (
  SELECT t.run_id, t.experiment_id, t.project_id, t.completed, t.completed_at, t.duration_ms, t.cost_estimate,
         t.cell, md5(t.cell::text) AS cell_key, v.value, v.latest, a.avg_all
  FROM target t
  CROSS JOIN LATERAL (
    SELECT CASE WHEN coalesce(sum(l.weight), 0) = 0 THEN avg(l.value)
                ELSE sum(l.value * l.weight) / sum(l.weight) END AS value,
           jsonb_object_agg(l.scorer_name, l.value) AS latest
    FROM (
      SELECT DISTINCT ON (s.scorer_name) s.scorer_name, s.value,
             CASE WHEN jsonb_typeof(t.weights -> s.scorer_name) = 'number'
                  THEN (t.weights ->> s.scorer_name)::float8 END AS weight
      FROM scores s WHERE s.run_id = t.run_id
      ORDER BY s.scorer_name, s.created_at DESC, s.id DESC
    ) l
  ) v
  CROSS JOIN LATERAL (SELECT ${AVG_ALL_OF('s')} AS avg_all FROM scores s WHERE s.run_id = t.run_id) a
)`;
}

/**
 * Step 1 of a refresh of runs $1 (uuid[]): a shared advisory lock per experiment (a rebuild takes
 * it exclusively), then an advisory lock per run, each set in key order; step 2 then starts with
 * a snapshot that sees every score and value committed before these locks were granted. Every
 * writer of a run's run_values row holds its run's lock (or the experiment's exclusively), so
 * two refreshes of one run never interleave, and none writes a placeholder row to lock on.
 * The experiment locks come first: a refresh waiting for one holds no run lock.
 */
export const LOCK_RUN_VALUES = `
WITH experiment_locks AS (
  SELECT count(pg_advisory_xact_lock_shared(k)) AS n
  FROM (SELECT DISTINCT hashtextextended(r.experiment_id::text, 7) AS k FROM runs r WHERE r.id = ANY($1::uuid[]) ORDER BY k) x
),
run_locks AS (
  SELECT count(pg_advisory_xact_lock(x.k)) AS n
  FROM (SELECT DISTINCT hashtextextended(id::text, 8) AS k FROM unnest($1::uuid[]) id ORDER BY k) x
  CROSS JOIN experiment_locks
),
models AS (
  INSERT INTO score_models AS m (experiment_id, weights)
  SELECT e.id, ${WEIGHTS_OF_E} FROM experiments e
  WHERE e.id IN (SELECT r.experiment_id FROM runs r WHERE r.id = ANY($1::uuid[]))
  ON CONFLICT (experiment_id) DO NOTHING
),
previous AS MATERIALIZED (SELECT current_setting('plan_cache_mode') AS mode)
-- Step 2 runs with its generic plan (planning it for each call cost more than running it): the
-- mode is set for this transaction only, and step 2 sets it back to the mode read here.
SELECT l.n, p.mode, set_config('plan_cache_mode', 'force_generic_plan', true) AS forced
FROM run_locks l CROSS JOIN previous p`;

/**
 * Step 2 ($2: the plan cache mode step 1 returned): recompute runs $1 from their scores, store
 * that (an upsert), and move the configuration aggregates by the difference between the new and
 * the old contribution (a run contributes while it is completed and has a value). Rows without
 * any score left are deleted.
 */
export const APPLY_RUN_VALUES = `
WITH ${freshCte('r.id = ANY($1::uuid[])')},
old AS (SELECT rv.* FROM run_values rv WHERE rv.run_id = ANY($1::uuid[])),
saved AS (
  INSERT INTO run_values AS rv (run_id, experiment_id, project_id, completed, completed_at, cell_key, value, latest,
                                avg_all, duration_ms, cost_estimate)
  SELECT f.run_id, f.experiment_id, f.project_id, f.completed, f.completed_at, f.cell_key, f.value, f.latest,
         f.avg_all, f.duration_ms, f.cost_estimate
    FROM fresh f
   WHERE f.avg_all IS NOT NULL
   ORDER BY f.run_id
  ON CONFLICT (run_id) DO UPDATE
     SET experiment_id = excluded.experiment_id, project_id = excluded.project_id, completed = excluded.completed,
         completed_at = excluded.completed_at, cell_key = excluded.cell_key, value = excluded.value,
         latest = excluded.latest, avg_all = excluded.avg_all, duration_ms = excluded.duration_ms,
         cost_estimate = excluded.cost_estimate
  RETURNING rv.run_id
),
dropped AS (
  DELETE FROM run_values rv USING fresh f WHERE rv.run_id = f.run_id AND f.avg_all IS NULL RETURNING rv.run_id
),
contrib AS (
  SELECT f.experiment_id, f.cell_key, f.cell, 1 AS sign, f.value, f.duration_ms, f.cost_estimate, f.latest
    FROM fresh f WHERE f.completed AND f.value IS NOT NULL
  UNION ALL
  SELECT o.experiment_id, o.cell_key, NULL::jsonb, -1, o.value, o.duration_ms, o.cost_estimate, o.latest
    FROM old o WHERE o.completed AND o.value IS NOT NULL
),
cell_delta AS (
  SELECT c.experiment_id, c.cell_key, (array_agg(c.cell) FILTER (WHERE c.cell IS NOT NULL))[1] AS cell,
         sum(c.sign)::int AS dn, sum(c.sign * x.v) AS ds, sum(c.sign * x.v * x.v) AS ds2,
         sum(CASE WHEN c.value >= ${MODEL_PASS_THRESHOLD} THEN c.sign ELSE 0 END)::int AS dpass,
         sum(CASE WHEN c.cost_estimate IS NOT NULL THEN c.sign ELSE 0 END)::int AS dcost_n,
         coalesce(sum(c.sign * c.cost_estimate), 0) AS dcost,
         sum(CASE WHEN c.duration_ms IS NOT NULL THEN c.sign ELSE 0 END)::int AS ddur_n,
         -- Signed sums of the durations: with ddur_n, whether the cell's durations (its cached percentiles) may have moved.
         coalesce(sum(c.sign * c.duration_ms::numeric), 0) AS ddur_s,
         coalesce(sum(c.sign * c.duration_ms::numeric * c.duration_ms::numeric), 0) AS ddur_s2
  FROM contrib c CROSS JOIN LATERAL (SELECT c.value::text::numeric AS v) x
  GROUP BY c.experiment_id, c.cell_key
),
cells AS (
  INSERT INTO config_aggregates AS a (experiment_id, cell_key, cell, n, sum_v, sum_v2, pass_n, cost_n, sum_cost, dur_n)
  SELECT d.experiment_id, d.cell_key, d.cell, d.dn, d.ds, d.ds2, d.dpass, d.dcost_n, d.dcost, d.ddur_n
  FROM cell_delta d
  WHERE d.dn <> 0 OR d.ds <> 0 OR d.ds2 <> 0 OR d.dpass <> 0 OR d.dcost_n <> 0 OR d.dcost <> 0 OR d.ddur_n <> 0
     OR d.ddur_s <> 0 OR d.ddur_s2 <> 0
  ORDER BY d.experiment_id, d.cell_key
  ON CONFLICT (experiment_id, cell_key) DO UPDATE
     SET cell = coalesce(a.cell, excluded.cell), n = a.n + excluded.n, sum_v = a.sum_v + excluded.sum_v,
         sum_v2 = a.sum_v2 + excluded.sum_v2, pass_n = a.pass_n + excluded.pass_n,
         cost_n = a.cost_n + excluded.cost_n, sum_cost = a.sum_cost + excluded.sum_cost,
         dur_n = a.dur_n + excluded.dur_n, dur_version = a.dur_version + 1
),
scorer_delta AS (
  SELECT c.experiment_id, c.cell_key, kv.key AS scorer_name, sum(c.sign)::int AS dn,
         sum(c.sign * kv.value::text::numeric) AS ds
  FROM contrib c CROSS JOIN LATERAL jsonb_each(c.latest) kv
  GROUP BY c.experiment_id, c.cell_key, kv.key
),
scorer_cells AS (
  INSERT INTO config_scorer_aggregates AS a (experiment_id, cell_key, scorer_name, n, sum_v)
  SELECT d.experiment_id, d.cell_key, d.scorer_name, d.dn, d.ds
  FROM scorer_delta d
  WHERE d.dn <> 0 OR d.ds <> 0
  ORDER BY d.experiment_id, d.cell_key, d.scorer_name
  ON CONFLICT (experiment_id, cell_key, scorer_name) DO UPDATE
     SET n = a.n + excluded.n, sum_v = a.sum_v + excluded.sum_v
)
-- The plan cache mode step 1 changed for this statement goes back to $2, what it was before.
SELECT set_config('plan_cache_mode', $2::text, true) AS plan_cache_mode`;

/** Rebuild, step 1: the experiment $1 exclusively (every refresh of its runs waits). */
export const LOCK_EXPERIMENT_EXCLUSIVE = `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))`;

/** Rebuild, step 3: the last run id of the next page of experiment $1 after id $2 ($3 runs), or none. */
export const REBUILD_PAGE_END = `
SELECT r.id::text AS id FROM runs r WHERE r.experiment_id = $1::uuid AND r.id > $2::uuid ORDER BY r.id OFFSET $3 - 1 LIMIT 1`;

/**
 * Rebuild, step 4 (per page): the values of experiment $1's runs with ids in ($2, $3] ($3 null:
 * to the end), set-based in one pass over the page's runs (a range of idx_runs_experiment_id):
 * per run, a LATERAL sub-select over its scores in idx_scores_run_latest order, where
 * row_number() marks each scorer's latest score, yields the value and `latest` (over the latest
 * scores) and `avg_all` (over all of them). The shape is fixed by the query, not by statistics
 * (right after a bulk write they are wrong): no scan of the whole scores table per page, no
 * second join to runs, no sort or hash table spilling to disk.
 */
export const REBUILD_RUN_VALUES_PAGE = `
WITH w AS (SELECT ${WEIGHTS_OF_E} AS weights FROM experiments e WHERE e.id = $1::uuid),
inserted AS (
  INSERT INTO run_values (run_id, experiment_id, project_id, completed, completed_at, cell_key, value, latest, avg_all, duration_ms, cost_estimate)
  SELECT r.id, r.experiment_id, r.project_id, r.status = 'completed', r.completed_at, md5((${CELL_OF_R})::text),
         v.value, v.latest, v.avg_all, r.duration_ms, r.cost_estimate
  FROM runs r
  CROSS JOIN w
  CROSS JOIN LATERAL (
    SELECT CASE WHEN coalesce(sum(k.weight), 0) = 0 THEN avg(k.value) FILTER (WHERE k.rn = 1)
                ELSE sum(k.value * k.weight) / sum(k.weight) END AS value,
           jsonb_object_agg(k.scorer_name, k.value) FILTER (WHERE k.rn = 1) AS latest,
           ${AVG_ALL_OF('k')} AS avg_all
    FROM (
      SELECT l.scorer_name, l.value, l.rn,
             CASE WHEN l.rn = 1 AND jsonb_typeof(w.weights -> l.scorer_name) = 'number'
                  THEN (w.weights ->> l.scorer_name)::float8 END AS weight
      FROM (SELECT s.scorer_name, s.value,
                   row_number() OVER (PARTITION BY s.scorer_name ORDER BY s.created_at DESC, s.id DESC) AS rn
              FROM scores s WHERE s.run_id = r.id) l
    ) k
  ) v
  WHERE r.experiment_id = $1::uuid AND r.id > $2::uuid AND ($3::uuid IS NULL OR r.id <= $3::uuid)
    AND v.avg_all IS NOT NULL
  RETURNING 1
)
SELECT count(*)::int AS valued FROM inserted`;

/** Rebuild, step 2: the experiment's rows go (the pages insert them anew: cheaper than updating each). */
export const REBUILD_CLEAR = `DELETE FROM run_values WHERE experiment_id = $1::uuid`;

/** Rebuild, step 5: the configuration aggregates of experiment $1 from its run values, from scratch. */
export const REBUILD_AGGREGATES = [
  `DELETE FROM config_aggregates WHERE experiment_id = $1`,
  `DELETE FROM config_scorer_aggregates WHERE experiment_id = $1`,
  // dur_version starts at the clock in microseconds: never a version a reader saw on the row this replaces,
  // so no percentile computed before the rebuild can be cached into the rebuilt row.
  `INSERT INTO config_aggregates (experiment_id, cell_key, cell, n, sum_v, sum_v2, pass_n, cost_n, sum_cost, dur_n, dur_version)
   SELECT rv.experiment_id, rv.cell_key,
          (SELECT ${CELL_OF_R} FROM runs r WHERE r.id = (array_agg(rv.run_id))[1]),
          count(*), sum(x.v), sum(x.v * x.v), count(*) FILTER (WHERE rv.value >= ${MODEL_PASS_THRESHOLD}),
          count(rv.cost_estimate), coalesce(sum(rv.cost_estimate), 0), count(rv.duration_ms),
          floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint
   FROM run_values rv CROSS JOIN LATERAL (SELECT rv.value::text::numeric AS v) x
   WHERE rv.experiment_id = $1 AND rv.completed AND rv.value IS NOT NULL
   GROUP BY rv.experiment_id, rv.cell_key`,
  `INSERT INTO config_scorer_aggregates (experiment_id, cell_key, scorer_name, n, sum_v)
   SELECT rv.experiment_id, rv.cell_key, kv.key, count(*), sum(kv.value::text::numeric)
   FROM run_values rv CROSS JOIN LATERAL jsonb_each(rv.latest) kv
   WHERE rv.experiment_id = $1 AND rv.completed AND rv.value IS NOT NULL
   GROUP BY rv.experiment_id, rv.cell_key, kv.key`,
  `INSERT INTO score_models AS m (experiment_id, weights)
   SELECT e.id, ${WEIGHTS_OF_E} FROM experiments e WHERE e.id = $1
   ON CONFLICT (experiment_id) DO UPDATE SET weights = excluded.weights, rebuilt_at = now()`,
];

/**
 * Revalue, step 0: experiment $1's current weights (jsonb text, `{}` when none) and whether its
 * model is maintained (a score_models row: every score write since has refreshed its runs, so
 * each stored `latest` is its run's latest score per scorer and only `value` depends on weights).
 */
export const REVALUE_START = `
SELECT (${WEIGHTS_OF_E})::text AS weights, EXISTS (SELECT 1 FROM score_models m WHERE m.experiment_id = e.id) AS maintained,
       (SELECT count(*) FROM run_values rv WHERE rv.experiment_id = e.id)::int AS total
FROM experiments e WHERE e.id = $1::uuid`;

/**
 * Revalue, per page (in its own transaction, under LOCK_EXPERIMENT_EXCLUSIVE): the values of
 * experiment $1's runs with ids in ($2, $3] ($3 null: to the end) under weights $4 (jsonb),
 * computed from each run's stored latest scores — the leaderboard's definition over them, the
 * scorers in name order as every other computation adds them — without reading `scores`. Rows
 * whose value moves are updated, and each configuration's sums move by the difference (exact
 * numeric over the values' decimal texts, as a refresh moves them). A stored row always has a
 * score, so its value is never null before or after: the counts and the durations (their cached
 * percentiles) stay as they are.
 */
export const REVALUE_PAGE = `
WITH page AS MATERIALIZED (
  SELECT r.id FROM runs r
  WHERE r.experiment_id = $1::uuid AND r.id > $2::uuid AND ($3::uuid IS NULL OR r.id <= $3::uuid)
),
calc AS MATERIALIZED (
  SELECT rv.ctid AS tid, rv.run_id, rv.cell_key, rv.completed, rv.value AS old_value, nv.value AS new_value
  FROM page p
  -- A probe of the primary key per run of the page (OFFSET 0: never a scan of the whole table).
  CROSS JOIN LATERAL (SELECT rv.* , rv.ctid FROM run_values rv WHERE rv.run_id = p.id AND rv.experiment_id = $1::uuid OFFSET 0) rv
  CROSS JOIN LATERAL (
    SELECT ${weightedScoreSql('l')} AS value
    FROM (SELECT kv.key, kv.value::text::float8 AS value,
                 CASE WHEN jsonb_typeof($4::jsonb -> kv.key) = 'number' THEN ($4::jsonb ->> kv.key)::float8 END AS weight
            FROM jsonb_each(rv.latest) kv
           ORDER BY kv.key) l
  ) nv
),
moved AS (SELECT * FROM calc c WHERE c.old_value IS DISTINCT FROM c.new_value),
saved AS (
  UPDATE run_values rv SET value = c.new_value FROM moved c WHERE rv.ctid = c.tid RETURNING 1
),
cell_delta AS (
  SELECT c.cell_key, sum(n.v - o.v) AS ds, sum(n.v * n.v - o.v * o.v) AS ds2,
         (count(*) FILTER (WHERE c.new_value >= ${MODEL_PASS_THRESHOLD}) - count(*) FILTER (WHERE c.old_value >= ${MODEL_PASS_THRESHOLD}))::int AS dpass
  FROM moved c
  CROSS JOIN LATERAL (SELECT c.new_value::text::numeric AS v) n
  CROSS JOIN LATERAL (SELECT c.old_value::text::numeric AS v) o
  WHERE c.completed
  GROUP BY c.cell_key
),
cells AS (
  UPDATE config_aggregates a
     SET sum_v = a.sum_v + d.ds, sum_v2 = a.sum_v2 + d.ds2, pass_n = a.pass_n + d.dpass
    FROM cell_delta d
   WHERE a.experiment_id = $1::uuid AND a.cell_key = d.cell_key
  RETURNING 1
)
SELECT (SELECT count(*) FROM calc)::int AS stored, (SELECT count(*) FROM saved)::int AS changed,
       (SELECT count(*) FROM cells)::int AS cells`;

/**
 * Revalue, per page, under the experiment's lock: whether weights $2 are still experiment $1's.
 * A revalue whose weights were changed meanwhile stops (another process may already be revaluing
 * with the newer ones, and a page of the older weights after it would leave values behind that
 * the newer weights' record claims).
 */
export const REVALUE_WEIGHTS_CURRENT = `
SELECT (${WEIGHTS_OF_E}) = $2::jsonb AS current FROM experiments e WHERE e.id = $1::uuid`;

/**
 * Revalue, per page before REVALUE_PAGE: nested loops only, for this transaction. The planner
 * otherwise joins the page's updates to run_values by hashing a scan of the whole table (a
 * page's rows are far fewer than it estimates from a CTE).
 */
export const REVALUE_PLAN = `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off`;

/**
 * Revalue, last step: the stored values are experiment $1's under weights $2 (what reads compare),
 * recorded only while those are still its weights (a newer change's rebuild records its own).
 */
export const REVALUE_DONE = `
INSERT INTO score_models AS m (experiment_id, weights)
SELECT e.id, $2::jsonb FROM experiments e WHERE e.id = $1::uuid AND (${WEIGHTS_OF_E}) = $2::jsonb
ON CONFLICT (experiment_id) DO UPDATE SET weights = excluded.weights, rebuilt_at = now()`;

/**
 * Whether experiment $1's stored values were computed with weights $2 (jsonb, as the reads pass
 * them). No row: nothing was ever valued through the model (then only set-based SQL is exact).
 */
export const MODEL_IS_CURRENT = `SELECT (m.weights = $2::jsonb) AS current FROM score_models m WHERE m.experiment_id = $1`;
