/** One aggregate over the experiment's runs (index idx_runs_experiment_status). */
export const EXPERIMENT_PROGRESS_SQL = `
  SELECT count(*)::int AS total,
         count(*) FILTER (WHERE status = 'pending')::int AS pending,
         count(*) FILTER (WHERE status = 'running')::int AS running,
         count(*) FILTER (WHERE status = 'completed')::int AS completed,
         count(*) FILTER (WHERE status = 'failed')::int AS failed,
         count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
         count(*) FILTER (WHERE status = 'completed' AND cache_hit)::int AS cached
    FROM runs WHERE experiment_id = $1`;
