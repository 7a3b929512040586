import { type EntityManager } from 'typeorm';

/**
 * Runs raw SQL on a transaction's (or the data source's) connection and returns rows and the
 * affected count alike for every command (TypeORM's plain `query()` changes its result shape for
 * UPDATE/DELETE).
 */
export async function execSql<T = Record<string, unknown>>(
  em: EntityManager,
  text: string,
  params: unknown[] = [],
): Promise<{ rows: T[]; count: number }> {
  const runner = em.queryRunner ?? em.connection.createQueryRunner();
  try {
    const result = await runner.query(text, params, true);
    return { rows: (result.records ?? []) as T[], count: result.affected ?? 0 };
  } finally {
    if (!em.queryRunner) await runner.release();
  }
}

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
