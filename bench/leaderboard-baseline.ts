/**
 * The score-filtered runs list as it was before the score read model (round 1's SQL): the grouped
 * join runs ⋈ scores, computed per request. bench/leaderboard.ts measures it beside today's.
 */
export const BASELINE_SCORE_FILTERED_LIST_SQL = `
WITH matched AS MATERIALIZED (
  SELECT r.id, r.started_at
  FROM runs r
  JOIN scores s ON s.run_id = r.id
  WHERE r.project_id = ANY($1::uuid[]) AND r.experiment_id = $2::uuid
  GROUP BY r.id
  HAVING avg(s.value::text::numeric)::float8 >= $3::float8
),
page AS (
  SELECT m.id, m.started_at FROM matched m
  ORDER BY m.started_at DESC NULLS LAST, m.id
  LIMIT $4 OFFSET 0
)
SELECT c.total, p.id
FROM (SELECT count(*)::int AS total FROM matched) c
LEFT JOIN page p ON true
ORDER BY p.started_at DESC NULLS LAST, p.id`;
