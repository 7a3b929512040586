import { type INestApplication } from '@nestjs/common';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { type AppConfig, loadConfig } from '../../src/config/configuration';
import { configureApp } from '../../src/configure-app';
import { createTestDatabase, type TestDatabase } from './database';

export interface TestApp {
  app: INestApplication;
  /** For supertest: `request(t.http)`. */
  http: ReturnType<INestApplication['getHttpServer']>;
  config: AppConfig;
  dataSource: DataSource;
  database: TestDatabase;
  /** Closes the app and drops its database (unless the database was passed in). */
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Extra environment variables, validated like production ones. */
  env?: Record<string, string>;
  /** Share a database between apps (e.g. an API app and a worker app); otherwise a fresh one. */
  database?: TestDatabase;
  /** Also listen on a real port (for SSE or out-of-process clients). */
  listen?: boolean;
}

export const TEST_JWT_SECRET = 'test-secret-0123456789abcdef';
/** 32 bytes, base64: distributed mode needs SECRETS_KEY like JWT_SECRET. */
export const TEST_SECRETS_KEY = Buffer.alloc(32, 'test-secrets-key').toString('base64');

export function testConfig(databaseUrl: string, env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    SECRETS_KEY: TEST_SECRETS_KEY,
    AUTH_THROTTLE_LIMIT: '100000',
    ALLOW_REGISTRATION: 'true',
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'warn',
    PROVIDER_RETRY_BASE_MS: '5',
    PROVIDER_RETRY_MAX_MS: '50',
    ...env,
  });
}

/**
 * The real AppModule, with the same pipes, filters and limits as main.ts, on a fresh database.
 *
 * One process, one authenticating app: passport keeps its strategies in a process-wide registry, so
 * the JWT strategy of the app created last checks the tokens of every app in the process (against
 * its own database). A suite that needs a second app creates it after it is done with the first
 * (e.g. in the last describe block), never the other way round.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownDatabase = !options.database;
  const database = options.database ?? (await createTestDatabase());
  const config = testConfig(database.url, options.env);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: ['error', 'warn'] });
  configureApp(app);
  if (options.listen) await app.listen(0, '127.0.0.1');
  else await app.init();
  return {
    app,
    http: app.getHttpServer(),
    config,
    dataSource: app.get(DataSource),
    database,
    close: async () => {
      await app.close();
      if (ownDatabase) await database.drop();
    },
  };
}
