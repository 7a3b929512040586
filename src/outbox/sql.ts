import { DataSource, type EntityManager } from 'typeorm';

/**
 * Runs one statement and returns its rows, in the manager's transaction when it has one. TypeORM's
 * `query()` returns `[rows, count]` for an UPDATE … RETURNING but plain rows for a SELECT; the
 * structured result is the same for both.
 */
export async function rows<T>(target: EntityManager | DataSource, sql: string, params: unknown[] = []): Promise<T[]> {
  const manager = target instanceof DataSource ? target.manager : target;
  const runner = manager.queryRunner;
  if (runner && !runner.isReleased) return ((await runner.query(sql, params, true)).records ?? []) as T[];
  const own = manager.connection.createQueryRunner();
  try {
    return ((await own.query(sql, params, true)).records ?? []) as T[];
  } finally {
    await own.release();
  }
}
