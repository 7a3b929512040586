import { latestScorePerRunAndScorer } from '../domain/latest-score';
import { weightedScoreSql } from '../domain/weighted-score';
/**
 * SQL of the configuration leaderboard and the paired comparison. Every statement starts with
 * the same CTEs, so "a run's value" has one definition (API.md, "Leaderboard"):
 *
 * - `weights(scorer_name, weight)`: the numeric entries of $2 (jsonb object scorer → weight);
 * - `latest(run_id, scorer_name, value, weight)`: per completed run of experiment $1 (that also
 *   passes `runFilter`) and per scorer, the latest score (by created_at, then id), human or
 *   automatic alike;
 * - `run_values(run_id, value)`: with scorer $3 (text, may be null) that scorer's latest score
 *   (runs without it get null); otherwise the weighted mean Σ w·v / Σ w over the scorers with a
 *   weight, or the plain mean where Σ w = 0 (no weights, none of the run's scorers weighted, or
 *   weights summing to zero).
 *
 * Parameters $1..$3 are therefore reserved: $1 experiment id, $2 weights (jsonb), $3 scorer.
 */
const LATEST = latestScorePerRunAndScorer('s');

function runValueCtes(runFilter = 'TRUE'): string {
  return `
weights AS (
  SELECT key AS scorer_name, value::text::float8 AS weight
  FROM jsonb_each($2::jsonb)
  WHERE jsonb_typeof(value) = 'number'
),
latest AS (
  SELECT DISTINCT ON (${LATEST.distinctOn}) s.run_id, s.scorer_name, s.value, w.weight
  FROM runs r
  JOIN scores s ON s.run_id = r.id
  LEFT JOIN weights w ON w.scorer_name = s.scorer_name
  WHERE r.experiment_id = $1 AND r.status = 'completed' AND (${runFilter})
  ORDER BY ${LATEST.orderBy}
),
run_values AS (
  SELECT l.run_id,
         CASE
           WHEN $3::text IS NOT NULL THEN max(l.value) FILTER (WHERE l.scorer_name = $3::text)
           ELSE ${weightedScoreSql('l')}
         END AS value
  FROM latest l
  GROUP BY l.run_id
)`;
}

/** A run's configuration as a jsonb array [prompt, model, params]; params default to {}. */
const FULL_CELL = `jsonb_build_array(r.config -> 'prompt', r.config -> 'model', coalesce(r.config -> 'params', '{}'::jsonb))`;

/**
 * One row per configuration (cell) with its aggregates, over runs that have a value.
 * $4/$5/$6 (boolean): group on prompt/model/params (a dimension not grouped on is null in
 * `cell`); $7 (float8): pass threshold. The cell is one jsonb value so both aggregations join
 * on it with a hash join. Rows are not ordered: the key that breaks ties is computed in Node.
 */
export const CONFIG_LEADERBOARD_SQL = `
WITH ${runValueCtes()},
cells AS (
  -- The experiment's completed runs with their cell; \`ck\` (md5 of the cell's jsonb text, which
  -- PostgreSQL normalises) is a narrow grouping key, so the large sorts below carry 32 bytes a row
  -- instead of the whole configuration.
  SELECT r.id AS run_id, r.duration_ms, r.cost_estimate, x.cell, md5(x.cell::text) AS ck
  FROM runs r
  CROSS JOIN LATERAL (
    SELECT jsonb_build_array(
             CASE WHEN $4::boolean THEN r.config -> 'prompt' END,
             CASE WHEN $5::boolean THEN r.config -> 'model' END,
             CASE WHEN $6::boolean THEN coalesce(r.config -> 'params', '{}'::jsonb) END
           ) AS cell
  ) x
  WHERE r.experiment_id = $1 AND r.status = 'completed'
),
valued AS (
  SELECT c.ck, rv.value, c.duration_ms, c.cost_estimate
  FROM cells c
  JOIN run_values rv ON rv.run_id = c.run_id
  WHERE rv.value IS NOT NULL
),
per_cell AS (
  SELECT ck,
         count(*)::int AS n,
         avg(value) AS mean,
         stddev_samp(value) AS stddev,
         avg(CASE WHEN value >= $7::float8 THEN 1 ELSE 0 END)::float8 AS pass_rate,
         avg(cost_estimate)::float8 AS mean_cost,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_duration_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_duration_ms
  FROM valued
  GROUP BY ck
),
per_scorer AS (
  SELECT ck, jsonb_object_agg(scorer_name, mean) AS scores
  FROM (
    SELECT c.ck, l.scorer_name, avg(l.value) AS mean
    FROM cells c
    JOIN run_values rv ON rv.run_id = c.run_id AND rv.value IS NOT NULL
    JOIN latest l ON l.run_id = c.run_id
    GROUP BY c.ck, l.scorer_name
  ) by_scorer
  GROUP BY ck
),
cell_of AS (
  -- GROUP BY (not DISTINCT ON) lets this be a hash aggregate over a handful of groups: no sort.
  -- any_value needs PostgreSQL 16+.
  SELECT ck, any_value(cell) AS cell FROM cells GROUP BY ck
)
SELECT co.cell, p.n, p.mean, p.stddev, p.pass_rate, p.mean_cost, p.p50_duration_ms, p.p95_duration_ms, s.scores
FROM per_cell p
JOIN per_scorer s ON s.ck = p.ck
JOIN cell_of co ON co.ck = p.ck`;

/**
 * Memory for the sorts and hashes of one leaderboard statement (SET LOCAL, this transaction only):
 * with the default 4 MB, an experiment of a million runs sorts on disk.
 */
export const LEADERBOARD_WORK_MEM = '64MB';

export interface ConfigLeaderboardRow {
  cell: [string | null, string | null, Record<string, unknown> | null];
  n: number;
  mean: number;
  stddev: number | null;
  pass_rate: number;
  mean_cost: number | null;
  p50_duration_ms: number | null;
  p95_duration_ms: number | null;
  scores: Record<string, number>;
}

/** Every configuration ([prompt, model, params]) that has a run in experiment $1, whatever its status. */
export const EXPERIMENT_CELLS_SQL = `SELECT DISTINCT ${FULL_CELL} AS cell FROM runs r WHERE r.experiment_id = $1`;

export interface ExperimentCellRow {
  cell: [string, string, Record<string, unknown>];
}

/**
 * The paired values of configurations $4 (a) and $5 (b) (jsonb [prompt, model, params]):
 * runs meet on the same input_data and repetition. Only the two configurations' runs are
 * valued. Should a configuration have several valued runs for one input and repetition
 * (ad-hoc duplicates), the most recently completed one counts.
 */
export const PAIRED_VALUES_SQL = `
WITH ${runValueCtes(`${FULL_CELL} IN ($4::jsonb, $5::jsonb)`)},
sides AS (
  SELECT DISTINCT ON (side.name, input.data, r.repetition) side.name AS side, input.data AS input, r.repetition, rv.value
  FROM run_values rv
  JOIN runs r ON r.id = rv.run_id
  CROSS JOIN LATERAL (SELECT CASE WHEN ${FULL_CELL} = $4::jsonb THEN 'a' ELSE 'b' END AS name) side
  CROSS JOIN LATERAL (SELECT coalesce(r.config -> 'input_data', '""'::jsonb) AS data) input
  WHERE rv.value IS NOT NULL
  ORDER BY side.name, input.data, r.repetition, r.completed_at DESC NULLS LAST, r.id DESC
)
SELECT a.value AS a, b.value AS b
FROM sides a
JOIN sides b ON b.side = 'b' AND b.input = a.input AND b.repetition = a.repetition
WHERE a.side = 'a'
ORDER BY a.input, a.repetition`;

export interface PairedValueRow {
  a: number;
  b: number;
}
