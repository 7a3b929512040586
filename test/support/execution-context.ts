import { DynamicModule, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { coreImports } from '../../src/database/core-imports';
import { AppConfig } from '../../src/config/configuration';
import { RunEventsService } from '../../src/events/run-events.service';
import { EventsModule } from '../../src/events/events.module';
import { ExecutionModule } from '../../src/execution/execution.module';
import { RunDispatcher } from '../../src/runs/run-dispatcher';
import { RunExecutor } from '../../src/execution/run-executor';
import { RunSweeper } from '../../src/execution/run-sweeper';
import { WorkerModule } from '../../src/worker.module';
import { TestDatabase } from './database';
import { testConfig } from './app';

/**
 * A Nest application context with only what execution needs, on a shared test database:
 * - `role: 'api'`: like the API process (inline execution without REDIS_URL; Bull producer with it);
 * - `role: 'worker'`: like src/worker.ts (Bull consumer, executor, sweeper; REDIS_URL required).
 */
export interface ExecutionContext {
  app: INestApplicationContext;
  config: AppConfig;
  dataSource: DataSource;
  /** The dispatcher feature modules inject (provided globally by ExecutionModule.forRoot). */
  dispatcher: RunDispatcher;
  events: RunEventsService;
  /** Present where runs execute (inline API, worker). */
  executor: RunExecutor | null;
  sweeper: RunSweeper | null;
  close(): Promise<void>;
}

export interface ExecutionContextOptions {
  database: TestDatabase;
  role?: 'api' | 'worker';
  env?: Record<string, string>;
  /** Let the sweeper run by itself (default true). */
  sweep?: boolean;
  /** A worker that takes jobs from the queue (default true); false: it only sweeps. */
  consume?: boolean;
}

/** A feature module: it injects RunDispatcher from the global ExecutionModule.forRoot without importing it. */
@Module({})
class FeatureLikeModule {}

@Module({})
class ExecutionTestRootModule {}

export async function createExecutionContext(options: ExecutionContextOptions): Promise<ExecutionContext> {
  const config = testConfig(options.database.url, options.env);
  const root: DynamicModule =
    options.role === 'worker'
      ? {
          module: ExecutionTestRootModule,
          imports: [
            WorkerModule.forRoot(config, { sweep: options.sweep, consume: options.consume }),
            FeatureLikeModule,
          ],
        }
      : {
          module: ExecutionTestRootModule,
          imports: [
            ...coreImports(config),
            EventsModule,
            ExecutionModule.forRoot(config, { sweep: options.sweep }),
            FeatureLikeModule,
          ],
        };
  const app = await NestFactory.createApplicationContext(root, { logger: ['error', 'warn'], abortOnError: false });
  await app.init();
  const optional = <T>(token: new (...args: never[]) => T): T | null => {
    try {
      return app.get(token, { strict: false });
    } catch {
      return null;
    }
  };
  return {
    app,
    config,
    dataSource: app.get(DataSource),
    dispatcher: app.select(FeatureLikeModule).get(RunDispatcher),
    events: app.get(RunEventsService, { strict: false }),
    executor: optional(RunExecutor),
    sweeper: optional(RunSweeper),
    close: () => app.close(),
  };
}
