import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { delayOf, WebhookDispatcher } from './webhook-dispatcher';
import {
  DELIVER_WEBHOOK_JOB,
  type DueDelivery,
  WEBHOOKS_QUEUE,
  type WebhookJobData,
  webhookJobId,
  webhookJobOptions,
} from './webhooks.constants';

const ADD_BULK_CHUNK = 1000;

/** Distributed mode: one `deliver-webhook` job per delivery and attempt on the Bull queue `webhooks`, delayed to its due time. */
@Injectable()
export class BullWebhookDispatcher extends WebhookDispatcher {
  constructor(
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<WebhookJobData>,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    super();
  }

  async dispatch(deliveries: DueDelivery[], options: { fresh?: boolean } = {}): Promise<void> {
    if (options.fresh) {
      for (let i = 0; i < deliveries.length; i += ADD_BULK_CHUNK) {
        await this.queue.addBulk(deliveries.slice(i, i + ADD_BULK_CHUNK).map((d) => this.job(d)));
      }
      return;
    }
    for (const delivery of deliveries) {
      const existing = await this.queue.getJob(webhookJobId(delivery.id, delivery.attempts));
      if (existing && !existing.finishedOn) {
        // Waiting or active: it will run. Delayed while due now (a redelivery): run it now.
        if (delayOf(delivery) === 0 && (await existing.isDelayed())) await existing.promote().catch(() => undefined);
        continue;
      }
      // A finished job keeps its id in Redis, and Bull ignores an add with that id: remove it first.
      if (existing) await existing.remove().catch(() => undefined);
      const job = this.job(delivery);
      await this.queue.add(job.name, job.data, job.opts);
    }
  }

  async undelivered(deliveries: DueDelivery[]): Promise<DueDelivery[]> {
    const jobs = await Promise.all(deliveries.map((d) => this.queue.getJob(webhookJobId(d.id, d.attempts))));
    return deliveries.filter((_, i) => !jobs[i] || Boolean(jobs[i]?.finishedOn));
  }

  private job(delivery: DueDelivery) {
    return {
      name: DELIVER_WEBHOOK_JOB,
      data: { deliveryId: delivery.id, attempts: delivery.attempts },
      opts: {
        ...webhookJobOptions(this.config.jobRetentionCount),
        jobId: webhookJobId(delivery.id, delivery.attempts),
        delay: delayOf(delivery),
      },
    };
  }
}
