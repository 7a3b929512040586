import { BullModule } from '@nestjs/bull';
import { redisReconnectDelayMs } from '../common/redis-reconnect';
import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_CONFIG } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { EventsModule } from '../events/events.module';
import { OutboxModule } from '../outbox/outbox.module';
import { BudgetModule } from '../experiments/experiment-budgets';
import { ProvidersModule } from '../providers/providers.module';
import { RunRepositoryModule } from '../runs/run-repository.module';
import { ScoringModule } from '../scoring/scoring.module';
import { BullRunDispatcher } from './bull-run-dispatcher';
import { ExperimentCompletionService } from '../experiments/experiment-completion.service';
import { QUEUE_PREFIX, RUNS_QUEUE, runJobOptions } from './execution.constants';
import { InlineRunDispatcher } from './inline-run-dispatcher';
import { RunDispatcher } from '../runs/run-dispatcher';
import { RunExecutor } from './run-executor';
import { RunProcessor } from './run-processor';
import { RUN_SWEEPER_AUTOSTART, RunSweeper } from './run-sweeper';
import { RUN_DISPATCHER_IMPL } from './tracking-run-dispatcher';

export interface ExecutionOptions {
  /**
   * This process executes queued runs (src/worker.ts). Only meaningful with REDIS_URL: without it
   * the process that dispatches always executes (inline).
   */
  worker?: boolean;
  /** false: the sweeper waits for `RunSweeper.start()`/`sweepOnce()` (tests). Default true. */
  sweep?: boolean;
  /**
   * false: the worker sweeps (re-enqueues lost jobs, hands expired leases out again, scores what was
   * left unscored) but takes no jobs from the queue (tests whose consumers are other processes).
   * Default true.
   */
  consume?: boolean;
}

/**
 * The process's root module imports `ExecutionModule.forRoot(config, options)` once (global);
 * feature modules inject `RunDispatcher` (runs/run-dispatcher.ts) without importing anything.
 * forRoot picks the implementation:
 * - no REDIS_URL (embedded): InlineRunDispatcher + RunExecutor + RunSweeper in this process;
 * - REDIS_URL, API process: BullRunDispatcher only (producer of the `runs` queue);
 * - REDIS_URL, `worker: true`: also RunProcessor (consumer), RunExecutor and RunSweeper.
 * Bull (and its Redis connections) is registered only when REDIS_URL is set. A process whose root
 * module forgets forRoot does not start: Nest cannot resolve `RunDispatcher` for the modules that need it.
 */
@Module({})
export class ExecutionModule {
  static forRoot(config: AppConfig, options: ExecutionOptions = {}): DynamicModule {
    const distributed = config.redisUrl !== null;
    const executes = !distributed || options.worker === true;
    const dispatcher = distributed ? BullRunDispatcher : InlineRunDispatcher;
    const providers: Provider[] = [
      ExperimentCompletionService,
      dispatcher,
      { provide: RUN_DISPATCHER_IMPL, useExisting: dispatcher },
      { provide: RunDispatcher, useExisting: dispatcher },
    ];
    if (executes) {
      providers.push(RunExecutor, RunSweeper, {
        provide: RUN_SWEEPER_AUTOSTART,
        useValue: options.sweep !== false,
      });
    }
    if (distributed && options.worker && options.consume !== false) providers.push(RunProcessor);
    return {
      module: ExecutionModule,
      global: true,
      imports: [
        EventsModule,
        OutboxModule,
        RunRepositoryModule,
        ...(executes ? [BudgetModule, ProvidersModule, ScoringModule] : []),
        ...(distributed
          ? [
              BullModule.forRootAsync({
                inject: [APP_CONFIG],
                useFactory: (c: AppConfig) => ({
                  url: c.redisUrl as string,
                  redis: { retryStrategy: redisReconnectDelayMs },
                  prefix: QUEUE_PREFIX,
                  defaultJobOptions: runJobOptions(c),
                }),
              }),
              BullModule.registerQueue({ name: RUNS_QUEUE }),
            ]
          : []),
      ],
      providers,
      exports: [
        RunDispatcher,
        RUN_DISPATCHER_IMPL,
        ExperimentCompletionService,
        ...(executes ? [RunExecutor, RunSweeper] : []),
      ],
    };
  }
}
