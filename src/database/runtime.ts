import { Logger } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import { DataSource } from 'typeorm';
import { type AppConfig } from '../config/configuration';
import { embeddedSecretsKey } from '../security/secret-box';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres';
import { runMigrationsLocked } from './migrate';
import { typeOrmOptions } from './typeorm-options';

export interface Runtime {
  /** The configuration with `databaseUrl`, `jwtSecret` and `secretsKey` resolved. */
  config: AppConfig;
  embedded: EmbeddedPostgresHandle | null;
  /** Stops the embedded PostgreSQL, if one was started. */
  stop(): Promise<void>;
}

/** In embedded mode the JWT secret is generated once and kept in the data directory (0600). */
function embeddedJwtSecret(dataDir: string): string {
  const root = resolve(dataDir);
  mkdirSync(root, { recursive: true });
  const file = join(root, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

/** Applies pending migrations (under the advisory lock) through a short-lived connection. */
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  const dataSource = new DataSource(typeOrmOptions(databaseUrl, { extra: { max: 2 } }));
  try {
    await dataSource.initialize();
    await runMigrationsLocked(dataSource);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}

/**
 * Resolves what the process needs before Nest starts: the database (embedded when DATABASE_URL is
 * unset), the JWT secret, and migrations (under an advisory lock).
 */
export async function prepareRuntime(config: AppConfig): Promise<Runtime> {
  const logger = new Logger('Runtime');
  let embedded: EmbeddedPostgresHandle | null = null;
  let resolved = config;
  if (!config.databaseUrl) {
    const started = Date.now();
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, persistent: true });
    logger.log(`embedded mode: PostgreSQL ready in ${Date.now() - started} ms`);
    resolved = {
      ...resolved,
      databaseUrl: embedded.url,
      jwtSecret: config.jwtSecret ?? embeddedJwtSecret(config.dataDir),
      secretsKey: config.secretsKey ?? embeddedSecretsKey(config.dataDir),
    };
  }
  try {
    await migrateDatabase(resolved.databaseUrl as string);
  } catch (error) {
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  return {
    config: resolved,
    embedded,
    stop: async () => {
      await embedded?.stop();
    },
  };
}
