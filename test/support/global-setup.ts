import { mkdirSync, rmSync } from 'fs';
import { join } from 'path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { runMigrationsLocked } from '../../src/database/migrate';
import { typeOrmOptions } from '../../src/database/typeorm-options';
import { TEMPLATE_DB } from './database';

/**
 * Starts one real PostgreSQL for the whole e2e run (the embedded one, or the server named by
 * TEST_DATABASE_URL), and migrates a template database that every suite clones.
 */
export default async function globalSetup(): Promise<void> {
  // Jest runs one global setup per distinct module path: integration and e2e share this one. Should
  // it run twice in one process all the same, the second call keeps the first server.
  const g = globalThis as Record<string, unknown>;
  if (g.__PL_PG_SETUP__) return;
  g.__PL_PG_SETUP__ = true;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const dir = join(__dirname, '..', '..', '.test-data', `pg-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const pg = await startEmbeddedPostgres({ dataDir: dir, port: 0, persistent: false, database: 'postgres' });
    (globalThis as Record<string, unknown>).__PL_PG__ = { stop: pg.stop, dir };
    adminUrl = pg.url;
  }
  process.env.PL_TEST_ADMIN_URL = adminUrl;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB}`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const ds = new DataSource(typeOrmOptions(withDatabase(adminUrl, TEMPLATE_DB), { extra: { max: 2 } }));
  await ds.initialize();
  try {
    await runMigrationsLocked(ds);
  } finally {
    await ds.destroy();
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
