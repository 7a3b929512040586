import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { BullWebhookDispatcher } from './bull-webhook-dispatcher';
import { WebhookDeliverer } from './webhook-deliverer';
import { DELIVER_WEBHOOK_JOB, WEBHOOKS_QUEUE, type WebhookJobData } from './webhooks.constants';

/**
 * The worker side of the `webhooks` queue: one attempt per job, WEBHOOK_CONCURRENCY at once (apart
 * from the runs queue's WORKER_CONCURRENCY). A retry is a new delayed job for the next attempt.
 */
@Injectable()
export class WebhookProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookProcessor.name);

  constructor(
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<WebhookJobData>,
    private readonly deliverer: WebhookDeliverer,
    private readonly dispatcher: BullWebhookDispatcher,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const { concurrency } = this.config.webhooks;
    this.queue
      .process(DELIVER_WEBHOOK_JOB, concurrency, (job: Job<WebhookJobData>) => this.handle(job))
      .catch((error: Error) => this.logger.error(`queue ${WEBHOOKS_QUEUE}: processing stopped: ${error.message}`));
    this.logger.log(`processing queue ${WEBHOOKS_QUEUE} with concurrency ${concurrency}`);
  }

  async handle(job: Job<WebhookJobData>): Promise<string> {
    const next = await this.deliverer.deliver(job.data.deliveryId);
    if (next) await this.dispatcher.dispatch([next], { fresh: true });
    return next ? 'retry-scheduled' : 'done';
  }

  async onModuleDestroy(): Promise<void> {
    await this.queue.close().catch(() => undefined);
  }
}
