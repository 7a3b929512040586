import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { DataSource } from 'typeorm';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { OutboxRepository } from '../outbox/outbox.repository';
import {
  type ClaimedDelivery,
  type DeliveryStatus,
  WebhookDeliveriesRepository,
} from './webhook-deliveries.repository';
import { SecretBox } from '../security/secret-box';
import { UrlPolicy } from '../security/url-policy';
import { type SendResult, WebhookSender } from './webhook-sender';
import { webhookHeaders } from './webhook-signature';
import { type SubscriptionRow, WebhookSubscriptionsRepository } from './webhook-subscriptions.repository';
import { deliveryLeaseMs, type DueDelivery, retryDelayMs } from './webhooks.constants';

/** A delayed job may fire this much before its due time by PostgreSQL's clock (clock skew with Redis). */
const DUE_TOLERANCE_MS = 1000;

/** Associated data binding a sealed signing secret to its subscription. */
export function secretAad(subscriptionId: string): string {
  return `webhook_subscriptions:${subscriptionId}:secret`;
}

/**
 * One attempt of one delivery: claim it in PostgreSQL (one sender per due time), sign the stored
 * body with every secret in force, check the URL against the SSRF policy, POST it, and record the
 * attempt with what follows (done, a retry at the contract's backoff, failed, the subscription
 * disabled) in one transaction. A process that dies mid-attempt leaves the claim to expire; the
 * sweeper then logs the attempt as interrupted and sends again with the same `webhook-id`.
 */
@Injectable()
export class WebhookDeliverer {
  private readonly logger = new Logger(WebhookDeliverer.name);
  private inFlightCount = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly subscriptions: WebhookSubscriptionsRepository,
    private readonly outbox: OutboxRepository,
    private readonly sender: WebhookSender,
    private readonly cipher: SecretBox,
    private readonly urls: UrlPolicy,
    @InjectConfig() private readonly config: AppConfig,
    @Optional() @Inject(MetricsService) private readonly metrics: MetricsService | null = null,
  ) {}

  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Makes the attempt if the delivery is due; returns the retry to schedule, if one follows. */
  async deliver(deliveryId: string): Promise<DueDelivery | null> {
    const { timeoutMs } = this.config.webhooks;
    const claim = await this.deliveries.claim(deliveryId, deliveryLeaseMs(timeoutMs), DUE_TOLERANCE_MS);
    if (!claim) return null;
    this.inFlightCount++;
    try {
      return await this.attempt(claim);
    } finally {
      this.inFlightCount--;
    }
  }

  private async attempt(claim: ClaimedDelivery): Promise<DueDelivery | null> {
    const [event, subscription] = await Promise.all([
      this.outbox.find(this.dataSource.manager, claim.event_id),
      this.subscriptions.find(claim.subscription_id),
    ]);
    if (!event || !subscription || (!subscription.enabled && event.type !== 'ping')) {
      await this.deliveries.abandon(claim);
      return null;
    }
    const result = await this.send(subscription, event.id, event.body);
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const gone = result.statusCode === 410;
    const delay = ok || gone ? null : retryDelayMs(claim.attempts, this.config.webhooks.retryBaseMs);
    const retryAt = delay === null ? null : new Date(Date.now() + delay);
    const { disabled, nextAttemptAt, status } = await this.dataSource.transaction(async (manager) => {
      // The failure that disables the subscription ends its delivery too: no retry follows.
      const disabledNow = ok ? null : await this.subscriptions.recordFailure(manager, subscription.id, gone);
      if (ok) await this.subscriptions.recordSuccess(manager, subscription.id);
      const next = disabledNow ? null : retryAt;
      const outcome: DeliveryStatus = ok ? 'succeeded' : next ? 'pending' : 'failed';
      await this.deliveries.recordAttempt(manager, claim, { ...result, nextAttemptAt: next, status: outcome });
      return { disabled: disabledNow, nextAttemptAt: next, status: outcome };
    });
    this.metrics?.countWebhookDelivery(status);
    const line = `webhook ${subscription.id} event ${event.id} (${event.type}) attempt ${claim.attempts}: ${
      result.statusCode ?? 'no answer'
    } in ${result.durationMs} ms`;
    if (ok) this.logger.debug(line);
    else
      this.logger.warn(
        `${line}: ${result.error}; ${nextAttemptAt ? `retry at ${nextAttemptAt.toISOString()}` : status}`,
      );
    if (disabled)
      this.logger.warn(`webhook ${subscription.id} of project ${subscription.project_id} disabled: ${disabled}`);
    return nextAttemptAt && !disabled
      ? { id: claim.id, attempts: claim.attempts, next_attempt_at: nextAttemptAt }
      : null;
  }

  private async send(subscription: SubscriptionRow, eventId: string, body: string): Promise<SendResult> {
    try {
      await this.urls.checkResolved(subscription.url);
    } catch (error) {
      return { statusCode: null, error: `refused: ${(error as Error).message}`, durationMs: 0 };
    }
    const headers = webhookHeaders(eventId, body, this.secrets(subscription));
    return this.sender.send(subscription.url, headers, body, this.config.webhooks.timeoutMs, this.urls.lookup);
  }

  /** The current secret, and the previous one while a rotation's overlap lasts. */
  private secrets(subscription: SubscriptionRow): string[] {
    const aad = secretAad(subscription.id);
    const secrets = [this.cipher.open(subscription.secret_encrypted, aad)];
    const previousValid =
      subscription.previous_secret_encrypted &&
      subscription.previous_secret_expires_at &&
      new Date(subscription.previous_secret_expires_at).getTime() > Date.now();
    if (previousValid) secrets.push(this.cipher.open(subscription.previous_secret_encrypted as string, aad));
    return secrets;
  }
}
