import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { ConfigValidationError, loadConfigFromProcessEnv, logLevels } from './config/configuration';
import { configureApp } from './configure-app';
import { AppLogger } from './common/app-logger';
import { StartupError } from './database/embedded-postgres';
import { prepareRuntime } from './database/runtime';
import { type AddressInfo } from 'net';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Bootstrap');
  const started = Date.now();
  const env = loadConfigFromProcessEnv();
  // From the first line on (the embedded PostgreSQL logs before Nest starts).
  const appLogger = new AppLogger({ format: env.logFormat, levels: logLevels(env.logLevel), colors: env.logColors });
  Logger.overrideLogger(appLogger);
  const runtime = await prepareRuntime(env);
  const { config } = runtime;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: appLogger,
  });
  configureApp(app);
  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    logger.log(`${signal}: shutting down`);
    try {
      await app.close();
    } finally {
      await runtime.stop();
      logger.log('stopped');
      process.exit(0);
    }
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address() as AddressInfo;
  const base = `http://${['0.0.0.0', '::'].includes(config.host) ? 'localhost' : config.host}:${address.port}`;
  logger.log(
    `PromptLooper listening on ${base}/api — ` +
      `${runtime.embedded ? 'embedded PostgreSQL' : 'external PostgreSQL'}, ` +
      `${config.redisUrl ? 'Bull queue on Redis' : 'in-process execution'}; ready in ${Date.now() - started} ms`,
  );
  logger.log(`API docs (Swagger UI): ${base}/docs — OpenAPI JSON: ${base}/docs-json`);
  logger.log(
    config.allowRegistration
      ? `Register: curl -s -X POST ${base}/api/auth/register -H 'Content-Type: application/json' ` +
          `-d '{"email":"you@example.com","password":"choose-a-password"}' — then POST /api/auth/login for a token`
      : 'Registration is closed (ALLOW_REGISTRATION=false) except for the first user: POST /api/auth/register',
  );
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigValidationError || error instanceof StartupError) {
    // A clear one-line message naming the bad variable, no stack.
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
