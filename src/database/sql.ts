import { type DataSource, EntityManager } from 'typeorm';

/**
 * The one raw-SQL helper: runs one statement on a transaction's connection (an EntityManager inside
 * `transaction()`) or on a pooled connection of the data source, and returns its rows and the
 * affected count alike for every command (TypeORM's plain `query()` answers `[rows, count]` for an
 * UPDATE … RETURNING but plain rows for a SELECT).
 */
export async function runSql<T = Record<string, unknown>>(
  db: DataSource | EntityManager,
  text: string,
  params: unknown[] = [],
): Promise<{ rows: T[]; count: number }> {
  const em = db instanceof EntityManager ? db : db.manager;
  const runner = em.queryRunner ?? em.connection.createQueryRunner();
  try {
    const result = await runner.query(text, params, true);
    return { rows: (result.records ?? []) as T[], count: result.affected ?? 0 };
  } finally {
    if (!em.queryRunner) await runner.release();
  }
}

/** `runSql`'s rows alone. */
export async function queryRows<T>(db: DataSource | EntityManager, text: string, params: unknown[] = []): Promise<T[]> {
  return (await runSql<T>(db, text, params)).rows;
}
