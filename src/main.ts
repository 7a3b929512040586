import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { ConfigValidationError, loadConfigFromProcessEnv, logLevels } from './config/configuration';
import { configureApp } from './configure-app';
import { prepareRuntime } from './database/runtime';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Bootstrap');
  const started = Date.now();
  const runtime = await prepareRuntime(loadConfigFromProcessEnv());
  const { config } = runtime;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: logLevels(config.logLevel),
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
  logger.log(
    `PromptLooper listening on http://localhost:${config.port}/api (docs: /docs) — ` +
      `${runtime.embedded ? 'embedded PostgreSQL' : 'external PostgreSQL'}, ` +
      `${config.redisUrl ? 'Bull queue on Redis' : 'in-process execution'}; ready in ${Date.now() - started} ms`,
  );
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigValidationError) {
    // A clear one-line message naming the bad variable, no stack.
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
