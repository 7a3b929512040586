import { BullModule } from '@nestjs/bull';
import { redisReconnectDelayMs } from '../common/redis-reconnect';
import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_CONFIG } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { OutboxModule } from '../outbox/outbox.module';
import { SecurityModule } from '../security/security.module';
import { BullWebhookDispatcher } from './bull-webhook-dispatcher';
import { InlineWebhookDispatcher } from './inline-webhook-dispatcher';
import { OutboxRelay, WEBHOOK_BACKGROUND_AUTOSTART } from './outbox-relay';
import { WebhookDatabase } from './webhook-database';
import { WebhookDeliverer } from './webhook-deliverer';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookProcessor } from './webhook-processor';
import { WebhookSender } from './webhook-sender';
import { WebhookSubscriptionsRepository } from './webhook-subscriptions.repository';
import { WebhookSweeper } from './webhook-sweeper';
import { WEBHOOKS_QUEUE, WEBHOOKS_QUEUE_PREFIX } from './webhooks.constants';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

export interface WebhooksOptions {
  /** A queue worker process (src/worker.ts): sends deliveries, no HTTP routes. Only meaningful with REDIS_URL. */
  worker?: boolean;
  /** false: the relay and the sweeper wait for `relayOnce()`/`sweepOnce()` (tests). Default true. */
  background?: boolean;
}

/**
 * Webhooks for other services. The process's root module imports `WebhooksModule.forRoot(config)`
 * once, which picks what runs here, like ExecutionModule:
 * - no REDIS_URL (embedded): routes, relay, sweeper and an in-process sender;
 * - REDIS_URL, API process: routes and the producer of the `webhooks` queue (redelivery);
 * - REDIS_URL, `worker: true`: relay, sweeper and the queue's consumer, no routes.
 * Modules that emit events import OutboxModule only, never this one.
 */
@Module({})
export class WebhooksModule {
  static forRoot(config: AppConfig, options: WebhooksOptions = {}): DynamicModule {
    const distributed = config.redisUrl !== null;
    const sends = !distributed || options.worker === true;
    const dispatcher = distributed ? BullWebhookDispatcher : InlineWebhookDispatcher;
    const providers: Provider[] = [
      WebhookSubscriptionsRepository,
      WebhookDeliveriesRepository,
      dispatcher,
      { provide: WebhookDispatcher, useExisting: dispatcher },
    ];
    if (!options.worker) providers.push(WebhooksService);
    if (sends) {
      providers.push(WebhookDatabase, WebhookSender, WebhookDeliverer, OutboxRelay, WebhookSweeper, {
        provide: WEBHOOK_BACKGROUND_AUTOSTART,
        useValue: options.background !== false,
      });
    }
    if (distributed && options.worker) providers.push(WebhookProcessor);
    return {
      module: WebhooksModule,
      imports: [
        OutboxModule,
        SecurityModule,
        ...(distributed
          ? [
              BullModule.registerQueueAsync({
                name: WEBHOOKS_QUEUE,
                inject: [APP_CONFIG],
                useFactory: (c: AppConfig) => ({
                  url: c.redisUrl as string,
                  redis: { retryStrategy: redisReconnectDelayMs },
                  prefix: WEBHOOKS_QUEUE_PREFIX,
                }),
              }),
            ]
          : []),
      ],
      controllers: options.worker ? [] : [WebhooksController],
      providers,
      exports: [WebhookDispatcher, ...(sends ? [OutboxRelay, WebhookSweeper, WebhookDeliverer] : [])],
    };
  }
}
