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

/** What a transaction's connection is underneath (node-postgres), for named statements. */
interface NamedQueryClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * One statement of a hot path inside a transaction (`em` from `transaction()`), as a named
 * prepared statement of its connection: parsed and analysed once per connection, and planned
 * once the server settles on a generic plan, instead of on every call. `name` must be unique
 * per statement text. Without a transaction's connection it runs as a plain statement.
 */
export async function runPrepared<T>(em: EntityManager, name: string, text: string, params: unknown[]): Promise<T[]> {
  const runner = em.queryRunner;
  if (!runner || runner.connection.options.type !== 'postgres') return em.query<T[]>(text, params);
  const client = (await runner.connect()) as NamedQueryClient;
  return (await client.query({ name, text, values: params })).rows as T[];
}
