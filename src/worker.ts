import 'reflect-metadata';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppLogger } from './common/app-logger';
import { retryWhileDatabaseUnavailable } from './common/infrastructure-errors';
import { ConfigValidationError, loadConfigFromProcessEnv, logLevels } from './config/configuration';
import { migrateDatabase } from './database/runtime';
import { PROCESS_LEASE_ID } from './execution/lease-owner';
import { WebhooksModule } from './webhooks/webhooks.module';
import { WorkerModule } from './worker.module';

/**
 * A queue worker: executes runs from the Bull queue `runs`, no HTTP. Scales apart from the API
 * (`docker compose up --scale worker=4`) and shares its DATABASE_URL and REDIS_URL.
 * A worker never starts an embedded PostgreSQL: it needs DATABASE_URL and only migrates.
 */
/** The worker process: run execution and webhook delivery. */
@Module({})
class WorkerRootModule {}

async function bootstrap(): Promise<void> {
  const logger = new Logger('Worker');
  const started = Date.now();
  const config = loadConfigFromProcessEnv({ requireDatabaseUrl: true });
  const appLogger = new AppLogger({
    format: config.logFormat,
    levels: logLevels(config.logLevel),
    colors: config.logColors,
  });
  Logger.overrideLogger(appLogger);
  if (!config.redisUrl) {
    throw new ConfigValidationError(
      '"REDIS_URL" is required for a worker (without Redis, runs execute inside the API process)',
    );
  }
  // PostgreSQL may be down (or still starting) when a worker starts: wait for it rather than exit.
  await retryWhileDatabaseUnavailable('migrations', () => migrateDatabase(config.databaseUrl as string), logger, {
    maxDelayMs: 15_000,
  });
  const app = await retryWhileDatabaseUnavailable(
    'worker start-up',
    () =>
      NestFactory.createApplicationContext(
        {
          module: WorkerRootModule,
          imports: [WorkerModule.forRoot(config), WebhooksModule.forRoot(config, { worker: true })],
        },
        // Throw instead of exiting, so that an outage during start-up is retried.
        { logger: appLogger, abortOnError: false },
      ),
    logger,
    { maxDelayMs: 15_000 },
  );
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
  logger.log(
    `worker ${PROCESS_LEASE_ID} ready in ${Date.now() - started} ms (concurrency ${config.workerConcurrency})`,
  );
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof ConfigValidationError ? error.message : error);
  process.exit(1);
});
