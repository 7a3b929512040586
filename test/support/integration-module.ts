import { type DynamicModule, type Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { type AppConfig } from '../../src/config/configuration';
import { coreImports } from '../../src/database/core-imports';
import { EventsModule } from '../../src/events/events.module';
import { ExecutionModule } from '../../src/execution/execution.module';
import { InlineRunDispatcher } from '../../src/execution/inline-run-dispatcher';
import { type PendingRunRef, TrackingRunDispatcher } from '../../src/execution/tracking-run-dispatcher';
import { testConfig } from './app';
import { type TestDatabase } from './database';

/**
 * Integration tier (test/integration): a Nest testing module with only what the classes under test
 * need, on a real PostgreSQL, with no HTTP server. Execution is wired as in embedded mode
 * (ExecutionModule.forRoot without REDIS_URL: executor, sweeper, completion), except that the
 * dispatcher is a RecordingDispatcher: nothing executes unless the test calls the executor, so the
 * rows stay exactly as each step left them.
 */
export class RecordingDispatcher extends TrackingRunDispatcher {
  /** Every dispatch call's run ids, in call order. */
  readonly calls: string[][] = [];
  /** Runs this dispatcher claims to be delivering (the sweeper leaves them alone). */
  readonly delivering = new Set<string>();

  dispatch(runIds: string[]): Promise<void> {
    this.calls.push([...runIds]);
    return Promise.resolve();
  }

  health(): Promise<'inline'> {
    return Promise.resolve('inline');
  }

  undelivered(runs: PendingRunRef[]): Promise<PendingRunRef[]> {
    return Promise.resolve(runs.filter((run) => !this.delivering.has(run.id)));
  }

  /** Every run id dispatched so far, in order. */
  dispatched(): string[] {
    return this.calls.flat();
  }

  reset(): void {
    this.calls.length = 0;
    this.delivering.clear();
  }
}

export interface IntegrationModule {
  moduleRef: TestingModule;
  config: AppConfig;
  dataSource: DataSource;
  dispatcher: RecordingDispatcher;
  /** A provider of the module, wherever it is declared. */
  get<T>(type: Type<T>): T;
  close(): Promise<void>;
}

export interface IntegrationModuleOptions {
  database: TestDatabase;
  env?: Record<string, string>;
  /** Feature modules besides execution (e.g. ExperimentsModule for the launch service). */
  imports?: NonNullable<DynamicModule['imports']>;
}

export async function createIntegrationModule(options: IntegrationModuleOptions): Promise<IntegrationModule> {
  const config = testConfig(options.database.url, options.env);
  const dispatcher = new RecordingDispatcher();
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...coreImports(config),
      EventsModule,
      // The sweeper is driven by the tests (sweepOnce()).
      ExecutionModule.forRoot(config, { sweep: false }),
      ...(options.imports ?? []),
    ],
  })
    .overrideProvider(InlineRunDispatcher)
    .useValue(dispatcher)
    .compile();
  moduleRef.useLogger(['error', 'warn']);
  await moduleRef.init();
  return {
    moduleRef,
    config,
    dataSource: moduleRef.get(DataSource),
    dispatcher,
    get: <T>(type: Type<T>) => moduleRef.get(type, { strict: false }),
    close: () => moduleRef.close(),
  };
}

/** Empties every table the run lifecycle writes (experiments cascade to runs, stage results, scores, reservations). */
export async function truncateRunData(ds: DataSource): Promise<void> {
  await ds.query(`TRUNCATE experiments CASCADE`);
}
