import { EntityManager } from 'typeorm';

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
