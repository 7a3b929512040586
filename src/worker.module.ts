import { DynamicModule, Module } from '@nestjs/common';
import { coreImports } from './database/core-imports';
import { AppConfig } from './config/configuration';
import { EventsModule } from './events/events.module';
import { ExecutionModule, ExecutionOptions } from './execution/execution.module';

/** A queue worker process (src/worker.ts): database, configuration and execution, no HTTP. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig, options: Omit<ExecutionOptions, 'worker'> = {}): DynamicModule {
    if (!config.redisUrl) throw new Error('a worker needs REDIS_URL: without it runs execute inside the API process');
    return {
      module: WorkerModule,
      imports: [...coreImports(config), EventsModule, ExecutionModule.forRoot(config, { ...options, worker: true })],
    };
  }
}
