/**
 * The contract's weighted score of one run from its scorers' latest values: Σ w·v / Σ w over the
 * scorers that have a weight; the plain mean when none has one (Σ w = 0) or without weights;
 * null without scores. The same definition as the leaderboard's (which computes it in SQL).
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
