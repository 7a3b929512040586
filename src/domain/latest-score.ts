/**
 * "The latest score of a scorer for a run" — the value every reader means by a run's score for
 * that scorer, human or automatic alike: among a run's scores with one scorer_name, the one with
 * the latest created_at, then the greatest id. Served by idx_scores_run_latest
 * (run_id, scorer_name, created_at DESC, id DESC) INCLUDE (value).
 *
 * These are SQL fragments over the `scores` table aliased `alias`.
 */

/** DISTINCT ON key and ORDER BY of "per run and scorer, the latest score". */
export function latestScorePerRunAndScorer(alias = 's'): { distinctOn: string; orderBy: string } {
  return {
    distinctOn: `${alias}.run_id, ${alias}.scorer_name`,
    orderBy: `${alias}.run_id, ${alias}.scorer_name, ${alias}.created_at DESC, ${alias}.id DESC`,
  };
}

/** A scalar sub-select: the latest score of each scorer of the run `runId` (an SQL expression), as a jsonb object scorer → value (null without scores). */
export function latestScoresOfRunSql(runId: string): string {
  return `(SELECT jsonb_object_agg(l.scorer_name, l.value)
          FROM (SELECT DISTINCT ON (s.scorer_name) s.scorer_name, s.value
                  FROM scores s WHERE s.run_id = ${runId}
                 ORDER BY s.scorer_name, s.created_at DESC, s.id DESC) l)`;
}
