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
 * `experimentFilter` widens the runs beyond experiment $1 (compare-to reads two experiments).
 */
const LATEST = latestScorePerRunAndScorer('s');

function runValueCtes(runFilter = 'TRUE', experimentFilter = 'r.experiment_id = $1'): string {
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
  WHERE ${experimentFilter} AND r.status = 'completed' AND (${runFilter})
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
  /** Read-model rows only: the cache bookkeeping of the percentiles. */
  cell_key?: string;
  dur_version?: string;
  pct_stale?: boolean;
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

/**
 * percentile_cont(p) of the durations of one configuration's valued runs, from the read model's
 * index idx_run_values_duration: the one or two rows around position p·(n − 1) are read at their
 * offset (from the top for p > 0.5, which is the shorter walk) and interpolated exactly as
 * PostgreSQL's percentile_cont does (float8: lo + (hi − lo) · fraction). `a` is the aggregate row.
 */
function durationPercentile(p: number): string {
  const pos = `(${p}::float8 * (a.dur_n - 1))`;
  const lo = `floor(${pos})::int`;
  const count = `(CASE WHEN ceil(${pos}) > floor(${pos}) THEN 2 ELSE 1 END)`;
  const order = p > 0.5 ? 'DESC' : 'ASC';
  const offset = p > 0.5 ? `(a.dur_n - 1 - ceil(${pos})::int)` : lo;
  return `(SELECT CASE WHEN a.dur_n = 0 THEN NULL
                ELSE min(d.duration_ms)::float8 + (max(d.duration_ms)::float8 - min(d.duration_ms)::float8) * (${pos} - floor(${pos})) END
           FROM (SELECT rv.duration_ms FROM run_values rv
                  WHERE rv.experiment_id = a.experiment_id AND rv.cell_key = a.cell_key
                    AND rv.completed AND rv.value IS NOT NULL AND rv.duration_ms IS NOT NULL
                  ORDER BY rv.duration_ms ${order}
                  OFFSET ${offset} LIMIT ${count}) d)`;
}

/**
 * The configuration leaderboard of experiment $1 grouped on prompt, model and params with the
 * default pass threshold (0.5), read from the score read model: one row per configuration from
 * config_aggregates (exact numeric sums: mean = Σv / n, sample variance (nΣv² − (Σv)²) / (n(n − 1))),
 * per-scorer means from config_scorer_aggregates, percentiles from the row's cache while it is
 * current (pct_version = dur_version) and else by ordered offsets (`pct_stale` rows: the caller
 * stores them with CACHE_DURATION_PERCENTILES_SQL). Same rows as CONFIG_LEADERBOARD_SQL while the
 * model's weights are the experiment's.
 */
export const CONFIG_LEADERBOARD_FROM_MODEL_SQL = `
SELECT a.cell, a.n, a.cell_key, a.dur_version::text AS dur_version,
       (a.pct_version IS DISTINCT FROM a.dur_version) AS pct_stale,
       (a.sum_v / a.n)::float8 AS mean,
       CASE WHEN a.n > 1
            THEN sqrt(greatest(a.n * a.sum_v2 - a.sum_v * a.sum_v, 0) / (a.n::numeric * (a.n - 1)))::float8 END AS stddev,
       a.pass_n::float8 / a.n AS pass_rate,
       CASE WHEN a.cost_n > 0 THEN (a.sum_cost / a.cost_n)::float8 END AS mean_cost,
       CASE WHEN a.pct_version = a.dur_version THEN a.p50_duration_ms ELSE ${durationPercentile(0.5)} END AS p50_duration_ms,
       CASE WHEN a.pct_version = a.dur_version THEN a.p95_duration_ms ELSE ${durationPercentile(0.95)} END AS p95_duration_ms,
       (SELECT jsonb_object_agg(sa.scorer_name, (sa.sum_v / sa.n)::float8)
          FROM config_scorer_aggregates sa
         WHERE sa.experiment_id = a.experiment_id AND sa.cell_key = a.cell_key AND sa.n > 0) AS scores
FROM config_aggregates a
WHERE a.experiment_id = $1::uuid AND a.n > 0`;

/**
 * Stores percentiles computed by CONFIG_LEADERBOARD_FROM_MODEL_SQL for experiment $1 ($2: JSON
 * [{cell_key, dur_version, p50, p95}]) where the row's durations have not moved since (the
 * dur_version they were computed at). Rows a score write holds are skipped, never waited for (no
 * lock-order deadlock with the refresh); they stay uncached until the next read.
 */
export const CACHE_DURATION_PERCENTILES_SQL = `
WITH x AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(cell_key text, dur_version bigint, p50 float8, p95 float8)
),
free AS (
  SELECT a.cell_key FROM config_aggregates a JOIN x ON x.cell_key = a.cell_key
   WHERE a.experiment_id = $1::uuid AND a.dur_version = x.dur_version
   ORDER BY a.cell_key
     FOR UPDATE OF a SKIP LOCKED
)
UPDATE config_aggregates a
   SET p50_duration_ms = x.p50, p95_duration_ms = x.p95, pct_version = x.dur_version
  FROM x JOIN free f ON f.cell_key = x.cell_key
 WHERE a.experiment_id = $1::uuid AND a.cell_key = x.cell_key AND a.dur_version = x.dur_version`;

/**
 * The parameter $2 of CACHE_DURATION_PERCENTILES_SQL for the rows of CONFIG_LEADERBOARD_FROM_MODEL_SQL
 * whose percentiles were computed rather than read from the cache; null when there are none.
 */
export function stalePercentiles(rows: ConfigLeaderboardRow[]): string | null {
  const stale = rows
    .filter((r) => r.pct_stale)
    .map((r) => ({ cell_key: r.cell_key, dur_version: r.dur_version, p50: r.p50_duration_ms, p95: r.p95_duration_ms }));
  return stale.length > 0 ? JSON.stringify(stale) : null;
}

/** The configurations the read model holds for experiment $1, with their md5 cell keys. */
export const MODEL_CELLS_SQL = `SELECT a.cell, a.cell_key FROM config_aggregates a WHERE a.experiment_id = $1::uuid AND a.n > 0`;

export interface ModelCellRow {
  cell: [string, string, Record<string, unknown>];
  cell_key: string;
}

/**
 * PAIRED_VALUES_SQL read from the score read model: the valued runs of cells $2 (a) and $3 (b)
 * (md5 cell keys) of experiment $1, met on input_data and repetition; the most recently completed
 * run counts where one side has several.
 */
export const PAIRED_VALUES_FROM_MODEL_SQL = `
WITH sides AS (
  SELECT DISTINCT ON (side.name, input.data, r.repetition) side.name AS side, input.data AS input, r.repetition, rv.value
  FROM run_values rv
  JOIN runs r ON r.id = rv.run_id
  CROSS JOIN LATERAL (SELECT CASE WHEN rv.cell_key = $2 THEN 'a' ELSE 'b' END AS name) side
  CROSS JOIN LATERAL (SELECT coalesce(r.config -> 'input_data', '""'::jsonb) AS data) input
  WHERE rv.experiment_id = $1::uuid AND rv.cell_key IN ($2, $3) AND rv.completed AND rv.value IS NOT NULL
  ORDER BY side.name, input.data, r.repetition, r.completed_at DESC NULLS LAST, r.id DESC
)
SELECT a.value AS a, b.value AS b
FROM sides a
JOIN sides b ON b.side = 'b' AND b.input = a.input AND b.repetition = a.repetition
WHERE a.side = 'a'
ORDER BY a.input, a.repetition`;

/** A run's input_data (`""` when absent, as in config_hash); `r` is the alias of the runs table. */
const inputData = (r: string): string => `coalesce(${r}.config -> 'input_data', '""'::jsonb)`;
/** The dataset item key of a run (null for inline inputs), shown in regressions; Node derives one from input_data otherwise. */
const datasetItemKey = (r: string): string => `${r}.dataset_item_key`;
/**
 * What pairs a run with a run of another experiment: its dataset item, else its input_data
 * (API.md, "Comparing experiments"). md5 of the jsonb text (which PostgreSQL normalises) keeps
 * the sort narrow; the prefixes keep a key from ever equalling an input.
 */
const pairItem = (r: string): string => `md5(coalesce('k' || ${datasetItemKey(r)}, 'i' || ${inputData(r)}::text))`;

/**
 * compare-to in one statement: configuration $4 (jsonb [prompt, model, params]) of candidate
 * experiment $1 against configuration $6 of baseline experiment $5, paired on the item
 * (pairItem) and repetition, each run valued as in every leaderboard ($2 weights, $3 scorer).
 * Should one side have several valued runs for an item and repetition, the most recently
 * completed one counts (as in `compare`). One row per pair, with both runs' latest score per
 * scorer; the $7 pairs with the largest drop (value_b − value_a > 0) also carry `drop_rank`,
 * their input and both outputs, read for those rows only.
 */
export const COMPARE_TO_SQL = `
WITH ${runValueCtes(
  `(r.experiment_id = $1 AND ${FULL_CELL} = $4::jsonb) OR (r.experiment_id = $5 AND ${FULL_CELL} = $6::jsonb)`,
  'r.experiment_id IN ($1, $5)',
)},
sides AS (
  SELECT DISTINCT ON (side.name, item.key, r.repetition)
         side.name AS side, item.key AS item, r.repetition, rv.value, r.id AS run_id
  FROM run_values rv
  JOIN runs r ON r.id = rv.run_id
  CROSS JOIN LATERAL (
    SELECT CASE WHEN r.experiment_id = $1 AND ${FULL_CELL} = $4::jsonb THEN 'a' ELSE 'b' END AS name
  ) side
  CROSS JOIN LATERAL (SELECT ${pairItem('r')} AS key) item
  WHERE rv.value IS NOT NULL
  ORDER BY side.name, item.key, r.repetition, r.completed_at DESC NULLS LAST, r.id DESC
),
pairs AS (
  SELECT a.item, a.repetition, a.value AS a, b.value AS b, a.run_id AS run_a, b.run_id AS run_b
  FROM sides a
  JOIN sides b ON b.side = 'b' AND b.item = a.item AND b.repetition = a.repetition
  WHERE a.side = 'a'
),
run_scores AS (
  SELECT l.run_id, jsonb_object_agg(l.scorer_name, l.value) AS scores
  FROM latest l
  GROUP BY l.run_id
),
regressions AS (
  SELECT ranked.run_a, ranked.drop_rank, ${datasetItemKey('ra')} AS item_key, ${inputData('ra')} AS input_data,
         ra.output AS output_a, rb.output AS output_b
  FROM (
    SELECT p.run_a, p.run_b, row_number() OVER (ORDER BY p.b - p.a DESC, p.item, p.repetition)::int AS drop_rank
    FROM pairs p
    WHERE p.b > p.a
    ORDER BY p.b - p.a DESC, p.item, p.repetition
    LIMIT $7
  ) ranked
  JOIN runs ra ON ra.id = ranked.run_a
  JOIN runs rb ON rb.id = ranked.run_b
)
SELECT p.a, p.b, sa.scores AS scores_a, sb.scores AS scores_b,
       g.drop_rank, g.item_key, g.input_data, g.output_a, g.output_b
FROM pairs p
JOIN run_scores sa ON sa.run_id = p.run_a
JOIN run_scores sb ON sb.run_id = p.run_b
LEFT JOIN regressions g ON g.run_a = p.run_a
ORDER BY p.item, p.repetition`;

export interface CompareToRow {
  a: number;
  b: number;
  scores_a: Record<string, number>;
  scores_b: Record<string, number>;
  /** 1 for the largest drop; null for a pair that is not among the listed regressions. */
  drop_rank: number | null;
  item_key: string | null;
  input_data: Record<string, unknown> | string | null;
  output_a: string | null;
  output_b: string | null;
}
