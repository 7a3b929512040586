import { type DataSource } from 'typeorm';

/**
 * Runs one statement and returns its rows. TypeORM's `query()` returns `[rows, count]` for an
 * UPDATE … RETURNING but plain rows for a SELECT; the structured result is the same for both.
 */
export async function queryRows<T>(dataSource: DataSource, sql: string, params: unknown[] = []): Promise<T[]> {
  const runner = dataSource.createQueryRunner();
  try {
    const result = await runner.query(sql, params, true);
    return (result.records ?? []) as T[];
  } finally {
    await runner.release();
  }
}
