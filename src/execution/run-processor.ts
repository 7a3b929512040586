import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { EXECUTE_RUN_JOB, RUNS_QUEUE, RunJobData } from './execution.constants';
import { RunExecutor } from './run-executor';

/**
 * The worker side of the `runs` queue, and nothing more: hands each job to RunExecutor. A
 * retryable failure throws, so Bull delivers the job again after its exponential backoff; a
 * permanent one has already been written as a failed run and the job completes.
 *
 * Registered with `queue.process()` rather than `@Process()`: the decorator fixes concurrency when
 * the class is defined, and WORKER_CONCURRENCY is configuration.
 */
@Injectable()
export class RunProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RunProcessor.name);

  constructor(
    @InjectQueue(RUNS_QUEUE) private readonly queue: Queue<RunJobData>,
    private readonly executor: RunExecutor,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    // process() resolves only when the queue closes: not awaited.
    this.queue
      .process(EXECUTE_RUN_JOB, this.config.workerConcurrency, (job: Job<RunJobData>) => this.handle(job))
      .catch((error: Error) => {
        this.logger.error(`queue ${RUNS_QUEUE}: processing stopped: ${error.message}`);
      });
    this.logger.log(`processing queue ${RUNS_QUEUE} with concurrency ${this.config.workerConcurrency}`);
  }

  async handle(job: Job<RunJobData>): Promise<string> {
    const delivery = job.attemptsMade + 1;
    const outcome = await this.executor.execute(job.data.runId, { finalAttempt: delivery >= (job.opts.attempts ?? 1) });
    if (outcome.kind === 'retry') {
      this.logger.warn(
        `run ${job.data.runId} job ${job.id} delivery ${delivery}: ${outcome.error}; the queue will deliver it again`,
      );
      throw new Error(outcome.error);
    }
    return outcome.kind;
  }

  /** Stop fetching, give in-flight runs back (pending, job retried elsewhere), then close the queue. */
  async onModuleDestroy(): Promise<void> {
    await this.queue.pause(true, true).catch(() => undefined);
    await this.executor.shutdown();
    await this.queue.close().catch(() => undefined);
  }
}
