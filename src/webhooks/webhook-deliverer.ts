import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { GroupBatcher } from './group-batcher';
import { WebhookDatabase } from './webhook-database';
import { type ClaimedAttempt, type DeliveryStatus, WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { SecretBox } from '../security/secret-box';
import { UrlPolicy } from '../security/url-policy';
import { type SendResult, WebhookSender } from './webhook-sender';
import { headersAad } from './webhook-headers';
import { webhookHeaders } from './webhook-signature';
import { WebhookSubscriptionsRepository } from './webhook-subscriptions.repository';
import { deliveryLeaseMs, type DueDelivery, retryDelayMs } from './webhooks.constants';

/** A delayed job may fire this much before its due time by PostgreSQL's clock (clock skew with Redis). */
const DUE_TOLERANCE_MS = 1000;

/** Associated data binding a sealed signing secret to its subscription. */
export function secretAad(subscriptionId: string): string {
  return `webhook_subscriptions:${subscriptionId}:secret`;
}

/** Deliveries claimed, or attempts recorded, in one statement at most. */
const MAX_GROUP = 100;
/** Signing secrets opened, kept by their sealed text (a rotation seals a new one). */
const MAX_OPENED_SECRETS = 1000;

interface Finished {
  claim: ClaimedAttempt;
  result: SendResult;
}

interface Recorded {
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  disabled: string | null;
}

/**
 * One attempt of one delivery: claim it in PostgreSQL (one sender per due time), sign the stored
 * body with every secret in force, check the URL against the SSRF policy, POST it, and record the
 * attempt with what follows (done, a retry at the contract's backoff, failed, the subscription
 * disabled) in one transaction. A process that dies mid-attempt leaves the claim to expire; the
 * sweeper then logs the attempt as interrupted and sends again with the same `webhook-id`.
 *
 * Claims and records are group-committed: the concurrent attempts of this process (up to
 * WEBHOOK_CONCURRENCY) claim together in one statement, and record their outcomes together in one
 * transaction, on the delivery side's own pool. Only the POSTs run one by one.
 */
@Injectable()
export class WebhookDeliverer {
  private readonly logger = new Logger(WebhookDeliverer.name);
  private inFlightCount = 0;
  private readonly opened = new Map<string, string>();
  private readonly claims = new GroupBatcher<string, ClaimedAttempt | null>((ids) => this.claimGroup(ids), MAX_GROUP);
  private readonly records = new GroupBatcher<Finished, Recorded>((done) => this.recordGroup(done), MAX_GROUP);

  constructor(
    private readonly db: WebhookDatabase,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly subscriptions: WebhookSubscriptionsRepository,
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
    const claim = await this.claims.submit(deliveryId);
    if (!claim) return null;
    this.inFlightCount++;
    try {
      return await this.attempt(claim);
    } finally {
      this.inFlightCount--;
    }
  }

  private async claimGroup(ids: string[]): Promise<(ClaimedAttempt | null)[]> {
    const ds = await this.db.dataSource();
    const leaseMs = deliveryLeaseMs(this.config.webhooks.timeoutMs);
    const claimed = await this.deliveries.claimMany(ds.manager, [...new Set(ids)], leaseMs, DUE_TOLERANCE_MS);
    const byId = new Map(claimed.map((c) => [c.id, c]));
    // The same delivery dispatched twice in one group: the first caller makes the attempt.
    return ids.map((id) => {
      const claim = byId.get(id) ?? null;
      byId.delete(id);
      return claim;
    });
  }

  private async attempt(claim: ClaimedAttempt): Promise<DueDelivery | null> {
    if (
      claim.body === null ||
      claim.url === null ||
      claim.secret_encrypted === null ||
      (!claim.enabled && claim.event_type !== 'ping')
    ) {
      await this.deliveries.abandon((await this.db.dataSource()).manager, claim);
      return null;
    }
    const result = await this.send(claim);
    const { status, nextAttemptAt, disabled } = await this.records.submit({ claim, result });
    this.metrics?.countWebhookDelivery(status);
    const line = `webhook ${claim.subscription_id} event ${claim.event_id} (${claim.event_type}) attempt ${claim.attempts}: ${
      result.statusCode ?? 'no answer'
    } in ${result.durationMs} ms`;
    if (status === 'succeeded') this.logger.debug(line);
    else
      this.logger.warn(
        `${line}: ${result.error}; ${nextAttemptAt ? `retry at ${nextAttemptAt.toISOString()}` : status}`,
      );
    if (disabled)
      this.logger.warn(`webhook ${claim.subscription_id} of project ${claim.project_id} disabled: ${disabled}`);
    return nextAttemptAt && !disabled
      ? { id: claim.id, attempts: claim.attempts, next_attempt_at: nextAttemptAt }
      : null;
  }

  /**
   * Records a group of finished attempts in one transaction, in the order they finished: each
   * failure counts against its subscription (410 or the twentieth in a row disables it, and that
   * attempt ends its delivery), a success resets the count; then every attempt is logged and its
   * delivery moved on in one statement.
   */
  private async recordGroup(done: Finished[]): Promise<Recorded[]> {
    const ds = await this.db.dataSource();
    const { retryBaseMs } = this.config.webhooks;
    return ds.transaction(async (manager) => {
      const recorded: Recorded[] = [];
      const succeeded = new Set<string>();
      for (const { claim, result } of done) {
        const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
        if (ok) {
          succeeded.add(claim.subscription_id);
          recorded.push({ status: 'succeeded', nextAttemptAt: null, disabled: null });
          continue;
        }
        // A success that came before this failure resets the count first.
        if (succeeded.delete(claim.subscription_id))
          await this.subscriptions.recordSuccesses(manager, [claim.subscription_id]);
        const gone = result.statusCode === 410;
        const disabled = await this.subscriptions.recordFailure(manager, claim.subscription_id, gone);
        const delay = gone || disabled ? null : retryDelayMs(claim.attempts, retryBaseMs);
        const nextAttemptAt = delay === null ? null : new Date(Date.now() + delay);
        recorded.push({ status: nextAttemptAt ? 'pending' : 'failed', nextAttemptAt, disabled });
      }
      await this.subscriptions.recordSuccesses(manager, [...succeeded]);
      await this.deliveries.recordAttempts(
        manager,
        done.map(({ claim, result }, i) => ({
          claim,
          outcome: { ...result, nextAttemptAt: recorded[i].nextAttemptAt, status: recorded[i].status },
        })),
      );
      return recorded;
    });
  }

  private async send(claim: ClaimedAttempt): Promise<SendResult> {
    const url = claim.url as string;
    try {
      await this.urls.checkResolved(url);
    } catch (error) {
      return { statusCode: null, error: `refused: ${(error as Error).message}`, durationMs: 0 };
    }
    // Custom headers first: the signature headers (names a subscription cannot set) always win.
    const headers = {
      ...this.customHeaders(claim),
      ...webhookHeaders(claim.event_id, claim.body as string, this.secrets(claim)),
    };
    return this.sender.send(url, headers, claim.body as string, this.config.webhooks.timeoutMs, this.urls.lookup);
  }

  /** The current secret, and the previous one while a rotation's overlap lasts. */
  private secrets(claim: ClaimedAttempt): string[] {
    const sealed = [claim.secret_encrypted as string];
    if (claim.previous_secret_encrypted) sealed.push(claim.previous_secret_encrypted);
    return sealed.map((s) => this.open(s, secretAad(claim.subscription_id)));
  }

  private customHeaders(claim: ClaimedAttempt): Record<string, string> {
    if (!claim.headers_encrypted) return {};
    return JSON.parse(this.open(claim.headers_encrypted, headersAad(claim.subscription_id))) as Record<string, string>;
  }

  private open(sealed: string, aad: string): string {
    const key = `${aad}:${sealed}`;
    let secret = this.opened.get(key);
    if (secret === undefined) {
      secret = this.cipher.open(sealed, aad);
      if (this.opened.size >= MAX_OPENED_SECRETS) this.opened.clear();
      this.opened.set(key, secret);
    }
    return secret;
  }
}
