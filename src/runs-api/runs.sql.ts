import { latestScorePerRunAndScorer, latestScoresOfRunSql } from '../domain/latest-score';
import { weightedScoreSql } from '../domain/weighted-score';
import { RUN_ROW_COLUMNS, type RunRow } from './run.mapper';
import { type RunStatus } from '../domain/statuses';

export interface RunListFilter {
  /** The caller's projects: nothing outside them is ever listed. */
  projectIds: string[];
  experimentId?: string;
  status?: RunStatus;
  minScore?: number;
  maxScore?: number;
  limit: number;
  offset: number;
}

/**
 * The score-filtered page walks the runs in list order when at least this many runs match
 * (below, reading the matches off the avg_all index and sorting them costs less than the walk)…
 */
const WALK_MIN_MATCHES = 2000;
/**
 * …and the page ends within the first 1/WALK_MAX_DEPTH of the matches: a walk visits about
 * (limit + offset) / matches of the experiment's runs, the index read every match.
 */
const WALK_MAX_DEPTH = 50;

/** One row per run of the page; on an empty page one row whose run columns are all null. */
export type RunListRow = { total: number } & (RunRow | { [K in keyof RunRow]: null });

/**
 * The runs list as ONE statement: the matching runs, their count before paging, and the page.
 * `matched` holds only ids and started_at; the count and the page both read it, and a LEFT JOIN
 * from a one-row count keeps `total` when the page is empty (offset past the end).
 *
 * Without a score bound, `matched` is inlined (NOT MATERIALIZED) so the page can walk
 * idx_runs_started_desc and stop after limit + offset rows while the count stays an index scan.
 * With a score bound (the average of ALL the run's scores; runs without scores never match), see
 * below: the page and the count read the score read model separately.
 */
export function buildRunListQuery(filter: RunListFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [filter.projectIds];
  const where = ['r.project_id = ANY($1::uuid[])'];
  if (filter.experimentId !== undefined) {
    params.push(filter.experimentId);
    where.push(`r.experiment_id = $${params.length}::uuid`);
  }
  if (filter.status !== undefined) {
    params.push(filter.status);
    where.push(`r.status = $${params.length}::run_status`);
  }
  const scoreBound = filter.minScore !== undefined || filter.maxScore !== undefined;
  const having: string[] = [];
  if (filter.minScore !== undefined) {
    params.push(filter.minScore);
    having.push(`rv.avg_all >= $${params.length}::float8`);
  }
  if (filter.maxScore !== undefined) {
    params.push(filter.maxScore);
    having.push(`rv.avg_all <= $${params.length}::float8`);
  }
  params.push(filter.limit, filter.offset);
  const limit = `$${params.length - 1}`;
  const offset = `$${params.length}`;
  if (scoreBound) {
    // The average of each run's scores comes from the score read model (run_values.avg_all, kept by
    // scoring with every score write). The count is an index-only range of
    // idx_run_values_experiment_avg_project (or _project_avg), joined to runs only when the status
    // filter needs a runs column. The page takes one of two plans, chosen by that count inside the
    // statement (one-time filters on `counted`, so only one of them runs):
    // - many matches: walk the runs in list order (idx_runs_experiment_started or
    //   idx_runs_started_desc) and probe run_values per run, stopping after limit + offset matches;
    // - few matches, or a page deep into them: read the matches off the avg_all index and sort them.
    // The probe is a scalar sub-select, which PostgreSQL never turns into a join: the walk keeps
    // its shape whatever the statistics say (right after a rebuild they describe an empty table).
    const rvScope = `rv.project_id = ANY($1::uuid[])${filter.experimentId !== undefined ? ' AND rv.experiment_id = $2::uuid' : ''}`;
    const count =
      filter.status === undefined
        ? `SELECT count(*)::int AS total FROM run_values rv WHERE ${rvScope} AND ${having.join(' AND ')}`
        : `SELECT count(*)::int AS total FROM run_values rv JOIN runs r ON r.id = rv.run_id
            WHERE ${rvScope} AND ${where.join(' AND ')} AND ${having.join(' AND ')}`;
    const walk = `(SELECT counted.total FROM counted) >= ${WALK_MIN_MATCHES} AND (SELECT counted.total FROM counted) >= (${limit}::bigint + ${offset}::bigint) * ${WALK_MAX_DEPTH}`;
    const ctes = `counted AS MATERIALIZED (${count}),
page AS (
  (SELECT r.id, r.started_at FROM runs r
    WHERE ${walk} AND ${where.join(' AND ')}
      AND (SELECT ${having.join(' AND ')} FROM run_values rv WHERE rv.run_id = r.id)
    ORDER BY r.started_at DESC NULLS LAST, r.id
    LIMIT ${limit} OFFSET ${offset})
  UNION ALL
  (SELECT r.id, r.started_at FROM run_values rv JOIN runs r ON r.id = rv.run_id
    WHERE NOT (${walk}) AND ${rvScope} AND ${having.join(' AND ')} AND ${where.join(' AND ')}
    ORDER BY r.started_at DESC NULLS LAST, r.id
    LIMIT ${limit} OFFSET ${offset})
)`;
    return { sql: pagedList(ctes, 'SELECT counted.total FROM counted'), params };
  }
  const ctes = `matched AS NOT MATERIALIZED (
  SELECT r.id, r.started_at
  FROM runs r
  WHERE ${where.join(' AND ')}
),
page AS (
  SELECT m.id, m.started_at FROM matched m
  ORDER BY m.started_at DESC NULLS LAST, m.id
  LIMIT ${limit} OFFSET ${offset}
)`;
  return { sql: pagedList(ctes, 'SELECT count(*)::int AS total FROM matched'), params };
}

/**
 * The runs list's answer from CTEs ending in `page` (ids and started_at of the page) and a count
 * statement: the count in every row, the page's runs in list order, one row with a null run when
 * the page is empty (offset past the end).
 */
function pagedList(ctes: string, count: string): string {
  return `
WITH ${ctes}
SELECT c.total, ${RUN_ROW_COLUMNS}
FROM (${count}) c
LEFT JOIN page p ON true
LEFT JOIN runs r ON r.id = p.id
ORDER BY p.started_at DESC NULLS LAST, p.id`;
}

const LATEST = latestScorePerRunAndScorer('s');

/**
 * The run leaderboard of experiment $1 as ONE statement (API.md, "Leaderboard"):
 *
 * - `weights`: the numeric entries of $2 (a jsonb object; other values are ignored) as two
 *   parallel arrays in one row, read by uncorrelated sub-selects (evaluated once), so each score
 *   looks its weight up without a join;
 * - `latest`: per completed run and scorer, the latest score by created_at, then id (the
 *   reference kept whichever row came first), with its weight (null when it has none);
 * - `per_run`: Σ w·v / Σ w over the run's weighted scorers, or the plain mean where Σ w = 0
 *   (no weights, none of the run's scorers weighted, or weights cancelling out);
 * - `top`: ranked by weighted_score desc, completed_at asc, id asc; `total` is a window count,
 *   evaluated before LIMIT $3, so it counts every run that took part.
 *
 * Why it is shaped this way (EXPLAIN ANALYZE on 1M runs × 3 scores): with idx_runs_experiment_id
 * and idx_scores_run_latest (migration RunsLeaderboardIndexes) both inputs come out of index-only
 * scans ordered by run id, so the merge join, DISTINCT ON and GROUP BY all stream without a sort
 * or a hash table. `per_run` groups on runs.id joined again rather than on latest.run_id because
 * the planner cannot estimate the groups of a DISTINCT ON output (it assumes 200 and picks a
 * hash aggregate that spills a million groups to disk), while runs.id it knows to be unique.
 * The per-scorer map is built for the top rows only.
 */
export const RUN_LEADERBOARD_SQL = `
WITH weights AS (
  SELECT coalesce(array_agg(w.key), '{}') AS names, coalesce(array_agg(w.value::float8), '{}') AS vals
  FROM jsonb_each($2::jsonb) w
  WHERE jsonb_typeof(w.value) = 'number'
),
latest AS (
  SELECT DISTINCT ON (${LATEST.distinctOn}) s.run_id, s.value,
         ((SELECT w.vals FROM weights w))[array_position((SELECT w.names FROM weights w), s.scorer_name::text)] AS weight
  FROM runs r
  JOIN scores s ON s.run_id = r.id
  WHERE r.experiment_id = $1::uuid AND r.status = 'completed'
  ORDER BY ${LATEST.orderBy}
),
per_run AS (
  SELECT r.id AS run_id, r.completed_at,
         ${weightedScoreSql('l')} AS weighted_score
  FROM runs r
  JOIN latest l ON l.run_id = r.id
  WHERE r.experiment_id = $1::uuid AND r.status = 'completed'
  GROUP BY r.id
),
top AS (
  SELECT p.run_id, p.completed_at, p.weighted_score, count(*) OVER () AS total
  FROM per_run p
  ORDER BY p.weighted_score DESC, p.completed_at ASC NULLS LAST, p.run_id ASC
  LIMIT $3
)
SELECT t.total::int AS total, t.run_id, t.weighted_score, r.config_hash, r.config, r.status,
       r.duration_ms, r.tokens_in, r.tokens_out,
       ${latestScoresOfRunSql('t.run_id')} AS scores
FROM top t
JOIN runs r ON r.id = t.run_id
ORDER BY t.weighted_score DESC, t.completed_at ASC NULLS LAST, t.run_id ASC`;

export interface RunLeaderboardRow {
  total: number;
  run_id: string;
  weighted_score: number;
  config_hash: string;
  config: RunRow['config'];
  status: RunStatus;
  duration_ms: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  scores: Record<string, number>;
}

/**
 * The run leaderboard of experiment $1, top $2, read from the score read model (scoring's
 * run_values, migration ScoreReadModel): an index scan of idx_run_values_rank for the top rows,
 * `total` from the per-configuration counts. Same rows and numbers as RUN_LEADERBOARD_SQL while
 * the model's weights are the experiment's (ScoreReadModel.isCurrent); the service checks that.
 */
export const RUN_LEADERBOARD_FROM_MODEL_SQL = `
SELECT (SELECT coalesce(sum(a.n), 0) FROM config_aggregates a WHERE a.experiment_id = $1::uuid)::int AS total,
       rv.run_id, rv.value AS weighted_score, r.config_hash, r.config, r.status,
       r.duration_ms, r.tokens_in, r.tokens_out, rv.latest AS scores
FROM run_values rv
JOIN runs r ON r.id = rv.run_id
WHERE rv.experiment_id = $1::uuid AND rv.completed AND rv.value IS NOT NULL
ORDER BY rv.value DESC, rv.completed_at ASC NULLS LAST, rv.run_id ASC
LIMIT $2`;
