import { DynamicModule, Module } from '@nestjs/common';
import { coreImports } from './database/core-imports';
import { AppConfig } from './config/configuration';
import { EventsModule } from './events/events.module';
import { ExecutionModule, ExecutionOptions } from './execution/execution.module';
import { WorkerMetricsServer } from './metrics/worker-metrics-server';

/**
 * A queue worker process (src/worker.ts): database, configuration and execution; no HTTP API, only
 * its own GET /metrics when WORKER_METRICS_PORT is set.
 */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig, options: Omit<ExecutionOptions, 'worker'> = {}): DynamicModule {
    if (!config.redisUrl) throw new Error('a worker needs REDIS_URL: without it runs execute inside the API process');
    return {
      module: WorkerModule,
      imports: [...coreImports(config), EventsModule, ExecutionModule.forRoot(config, { ...options, worker: true })],
      providers: [WorkerMetricsServer],
    };
  }
}
