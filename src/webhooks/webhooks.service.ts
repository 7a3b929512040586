import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { conflict, ErrorCode, invalid, notFound } from '../common/domain-error';
import { type Page } from '../common/pagination.dto';
import { OutboxWriter } from '../outbox/outbox.writer';
import {
  type DeliveryAttemptDto,
  type RedeliveryDto,
  type WebhookDto,
  type WebhookWithSecretDto,
} from './dto/webhooks.dto';
import { type AttemptLogRow } from './webhook-deliveries.repository';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { secretAad } from './webhook-deliverer';
import { WebhookDispatcher } from './webhook-dispatcher';
import { SecretBox } from '../security/secret-box';
import { UrlPolicy } from '../security/url-policy';
import { headerProblems, headersAad } from './webhook-headers';
import { generateWebhookSecret } from './webhook-signature';
import {
  type SubscriptionPatch,
  type SealedHeaders,
  type SubscriptionRow,
  WebhookSubscriptionsRepository,
} from './webhook-subscriptions.repository';
import { SECRET_ROTATION_OVERLAP_MS } from './webhooks.constants';

export const WEBHOOK_NOT_FOUND = 'Webhook not found';
export const DELIVERY_NOT_FOUND = 'Delivery not found';

export interface CreateWebhookInput {
  url: string;
  events: string[];
  description?: string;
  enabled?: boolean;
  headers?: Record<string, string>;
}

export interface UpdateWebhookInput {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
  headers?: Record<string, string> | null;
}

/** Subscriptions, their secrets, pings, the delivery log and redelivery. Authorisation is the controller's. */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly subscriptions: WebhookSubscriptionsRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly outbox: OutboxWriter,
    private readonly cipher: SecretBox,
    private readonly urls: UrlPolicy,
    @Inject(WebhookDispatcher) private readonly dispatcher: WebhookDispatcher,
  ) {}

  async create(projectId: string, input: CreateWebhookInput): Promise<WebhookWithSecretDto> {
    const problems = headerProblems(input.headers);
    if (problems.length) throw invalid(problems);
    this.urls.checkUrl(input.url);
    const id = randomUUID();
    const secret = generateWebhookSecret();
    const row = await this.subscriptions.insert({
      id,
      projectId,
      url: input.url,
      events: input.events,
      description: input.description ?? null,
      enabled: input.enabled ?? true,
      secretEncrypted: this.cipher.seal(secret, secretAad(id)),
      headers: this.sealHeaders(id, input.headers ?? null),
    });
    return { ...toWebhookDto(row), secret };
  }

  list(projectId: string, limit: number, offset: number): Promise<Page<WebhookDto>> {
    return this.subscriptions
      .list(projectId, limit, offset)
      .then(({ items, total }) => ({ items: items.map(toWebhookDto), total }));
  }

  /** The subscription's project, for the access check; 404 when it does not exist. */
  async projectOf(id: string): Promise<string> {
    const row = await this.subscriptions.find(id);
    if (!row) throw notFound(WEBHOOK_NOT_FOUND);
    return row.project_id;
  }

  async get(id: string): Promise<WebhookDto> {
    const row = await this.subscriptions.find(id);
    if (!row) throw notFound(WEBHOOK_NOT_FOUND);
    return toWebhookDto(row);
  }

  async update(id: string, input: UpdateWebhookInput): Promise<WebhookDto> {
    const problems = headerProblems(input.headers);
    if (problems.length) throw invalid(problems);
    if (input.url !== undefined) this.urls.checkUrl(input.url);
    const { headers, ...rest } = input;
    const patch: SubscriptionPatch = { ...rest };
    if (headers !== undefined) patch.headers = this.sealHeaders(id, headers);
    const row = await this.subscriptions.update(id, patch);
    if (!row) throw notFound(WEBHOOK_NOT_FOUND);
    return toWebhookDto(row);
  }

  async delete(id: string): Promise<void> {
    if (!(await this.subscriptions.delete(id))) throw notFound(WEBHOOK_NOT_FOUND);
  }

  /** A new secret; the old one keeps signing beside it for 24 hours (a rotation within them drops the oldest). */
  async rotateSecret(id: string): Promise<WebhookWithSecretDto> {
    const secret = generateWebhookSecret();
    const row = await this.subscriptions.rotate(
      id,
      this.cipher.seal(secret, secretAad(id)),
      SECRET_ROTATION_OVERLAP_MS,
    );
    if (!row) throw notFound(WEBHOOK_NOT_FOUND);
    return { ...toWebhookDto(row), secret };
  }

  /** The custom header map sealed like the secret (its own associated data); names sorted, in clear. */
  private sealHeaders(id: string, headers: Record<string, string> | null): SealedHeaders {
    if (!headers || Object.keys(headers).length === 0) return { sealed: null, names: [] };
    return { sealed: this.cipher.seal(JSON.stringify(headers), headersAad(id)), names: Object.keys(headers).sort() };
  }

  /** Records a `ping` event for this subscription alone (enabled or not); it is delivered like any other. */
  async ping(id: string): Promise<{ event_id: string }> {
    const row = await this.subscriptions.find(id);
    if (!row) throw notFound(WEBHOOK_NOT_FOUND);
    const eventId = await this.outbox.append(
      this.dataSource.manager,
      row.project_id,
      'ping',
      { webhook_id: row.id, project_id: row.project_id, url: row.url },
      { subscriptionId: row.id },
    );
    if (!eventId) throw notFound(WEBHOOK_NOT_FOUND); // deleted meanwhile
    return { event_id: eventId };
  }

  async deliveryLog(id: string, limit: number, offset: number): Promise<Page<DeliveryAttemptDto>> {
    const { items, total } = await this.deliveries.log(id, limit, offset);
    return { items: items.map(toAttemptDto), total };
  }

  /** Sends a delivery again now, with its event id; `deliveryId` may also be the id of one of its attempts. */
  async redeliver(id: string, deliveryId: string): Promise<RedeliveryDto> {
    const row = await this.subscriptions.find(id);
    if (!row) throw notFound(WEBHOOK_NOT_FOUND);
    const delivery = await this.deliveries.findOfSubscription(id, deliveryId);
    if (!delivery) throw notFound(DELIVERY_NOT_FOUND);
    if (!row.enabled)
      throw conflict(
        'Webhook is disabled: enable it (PATCH enabled: true) before redelivering',
        ErrorCode.WebhookDisabled,
      );
    const due = await this.deliveries.redeliver(delivery.id);
    if (!due) throw conflict('Delivery is being sent right now', ErrorCode.DeliveryInFlight);
    await this.dispatcher.dispatch([due]);
    return { delivery_id: due.id, attempts: due.attempts };
  }
}

const iso = (value: Date | null): string | null => (value ? new Date(value).toISOString() : null);

export function toWebhookDto(row: SubscriptionRow): WebhookDto {
  const previousLive =
    row.previous_secret_expires_at && new Date(row.previous_secret_expires_at).getTime() > Date.now();
  return {
    id: row.id,
    project_id: row.project_id,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    disabled_reason: row.disabled_reason,
    disabled_at: iso(row.disabled_at),
    consecutive_failures: row.consecutive_failures,
    header_names: row.header_names ?? [],
    previous_secret_expires_at: previousLive ? iso(row.previous_secret_expires_at) : null,
    created_at: iso(row.created_at) as string,
    updated_at: iso(row.updated_at) as string,
  };
}

function toAttemptDto(row: AttemptLogRow): DeliveryAttemptDto {
  return {
    id: row.id,
    delivery_id: row.delivery_id,
    event_id: row.event_id,
    event_type: row.event_type,
    attempt: row.attempt,
    status_code: row.status_code,
    error: row.error,
    duration_ms: row.duration_ms,
    created_at: iso(row.created_at) as string,
    next_attempt_at: iso(row.next_attempt_at),
    delivery_status: row.delivery_status,
  };
}
