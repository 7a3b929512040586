import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

/** A bench's empty database: BENCH_DATABASE_URL when set, else a private embedded PostgreSQL. */
export interface BenchDatabase {
  url: string;
  /** Stops the embedded PostgreSQL (if this started one) and removes its directory. */
  close(): Promise<void>;
}

export async function openBenchDatabase(name: string, options: { database?: string } = {}): Promise<BenchDatabase> {
  const given = process.env.BENCH_DATABASE_URL;
  if (given) return { url: given, close: () => Promise.resolve() };
  const dir = mkdtempSync(join(tmpdir(), `pl-bench-${name}-`));
  // As root, initdb runs as a dedicated user that must reach the cluster directory.
  chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: dir, port: 0, persistent: false, ...options });
  return {
    url: pg.url,
    close: async () => {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
