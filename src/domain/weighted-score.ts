/**
 * The contract's weighted score of one run from its scorers' latest values (API.md,
 * "Leaderboard"): Σ w·v / Σ w over the scorers that have a weight; the plain mean when none has
 * one (Σ w = 0) or without weights; null without scores.
 *
 * Two forms of ONE definition: `weightedScore` in Node (export, run detail) and
 * `weightedScoreSql` in SQL (leaderboards). Change both together.
 */
export function weightedScore(scores: Record<string, number>, weights?: Record<string, number> | null): number | null {
  const names = Object.keys(scores);
  if (names.length === 0) return null;
  let sumW = 0;
  let sumWV = 0;
  for (const name of names) {
    const w = weights?.[name];
    if (typeof w === 'number' && w > 0) {
      sumW += w;
      sumWV += w * scores[name];
    }
  }
  if (sumW > 0) return sumWV / sumW;
  return names.reduce((sum, name) => sum + scores[name], 0) / names.length;
}

/**
 * The same definition as an SQL aggregate over the rows of one run, each with a `value` and a
 * `weight` column (null when the scorer has no weight) of `alias`: use it with GROUP BY run.
 * Weights are validated non-negative at experiment creation, so Σ w = 0 means "none weighted".
 */
export function weightedScoreSql(alias: string): string {
  return (
    `CASE WHEN coalesce(sum(${alias}.weight), 0) = 0 THEN avg(${alias}.value) ` +
    `ELSE sum(${alias}.value * ${alias}.weight) / sum(${alias}.weight) END`
  );
}
