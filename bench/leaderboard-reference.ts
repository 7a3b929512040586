/**
 * The reference router's leaderboard algorithm, in Node: every completed run and every score in
 * memory, grouped per run, ranked with a sort. Its bugs are fixed (latest score per scorer by
 * created_at then id, deterministic ties, total before the cut) so the bench can check that the
 * SQL ranking returns the same entries; the cost profile — O(all rows) transferred and held — is
 * the reference's.
 */
export interface ReferenceRun {
  id: string;
  config_hash: string;
  config: unknown;
  status: string;
  duration_ms: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  completed_at: Date | null;
}

export interface ReferenceScore {
  id: string;
  run_id: string;
  scorer_name: string;
  value: number;
  created_at: Date;
}

export interface ReferenceEntry {
  run_id: string;
  config_hash: string;
  config: unknown;
  status: string;
  weighted_score: number;
  scores: Record<string, number>;
  duration_ms: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  completed_at: number;
}

export function rankInMemory(
  runs: ReferenceRun[],
  scores: ReferenceScore[],
  weights: Record<string, number>,
): ReferenceEntry[] {
  const byRun = new Map<string, Map<string, ReferenceScore>>();
  for (const s of scores) {
    let latest = byRun.get(s.run_id);
    if (!latest) byRun.set(s.run_id, (latest = new Map()));
    const cur = latest.get(s.scorer_name);
    const t = s.created_at.getTime();
    if (!cur || t > cur.created_at.getTime() || (t === cur.created_at.getTime() && s.id > cur.id))
      latest.set(s.scorer_name, s);
  }
  const entries: ReferenceEntry[] = [];
  for (const run of runs) {
    const latest = byRun.get(run.id);
    if (!latest || latest.size === 0) continue;
    let sum = 0;
    let sw = 0;
    let swv = 0;
    const map: Record<string, number> = {};
    for (const [name, s] of latest) {
      map[name] = s.value;
      sum += s.value;
      const w = weights[name];
      if (typeof w === 'number') {
        sw += w;
        swv += w * s.value;
      }
    }
    entries.push({
      run_id: run.id,
      config_hash: run.config_hash,
      config: run.config,
      status: run.status,
      weighted_score: sw === 0 ? sum / latest.size : swv / sw,
      scores: map,
      duration_ms: run.duration_ms,
      tokens_in: run.tokens_in,
      tokens_out: run.tokens_out,
      completed_at: run.completed_at ? run.completed_at.getTime() : Number.POSITIVE_INFINITY,
    });
  }
  entries.sort(
    (a, b) =>
      b.weighted_score - a.weighted_score ||
      a.completed_at - b.completed_at ||
      (a.run_id < b.run_id ? -1 : a.run_id > b.run_id ? 1 : 0),
  );
  return entries;
}
