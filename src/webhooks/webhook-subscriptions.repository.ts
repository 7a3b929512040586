import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { rows } from '../outbox/sql';
import { MAX_CONSECUTIVE_FAILURES } from './webhooks.constants';

export interface SubscriptionRow {
  id: string;
  project_id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  secret_encrypted: string;
  previous_secret_encrypted: string | null;
  previous_secret_expires_at: Date | null;
  /** The custom header map, sealed (values may be credentials); null when none. */
  headers_encrypted: string | null;
  header_names: string[];
  consecutive_failures: number;
  disabled_reason: string | null;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface SubscriptionPatch {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
  /** Replaces the custom headers (sealed map, or null with no names to clear them). */
  headers?: SealedHeaders;
}

export interface SealedHeaders {
  sealed: string | null;
  names: string[];
}

/** Why a subscription was switched off by delivery (shown as `disabled_reason`). */
export const DISABLED_GONE = 'the receiver answered 410 Gone';
export const DISABLED_FAILING = `${MAX_CONSECUTIVE_FAILURES} failed attempts in a row`;

/** Every statement on `webhook_subscriptions` (the webhooks module owns the table). */
@Injectable()
export class WebhookSubscriptionsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(input: {
    id: string;
    projectId: string;
    url: string;
    events: string[];
    description: string | null;
    enabled: boolean;
    secretEncrypted: string;
    headers: SealedHeaders;
  }): Promise<SubscriptionRow> {
    const [row] = await rows<SubscriptionRow>(
      this.dataSource,
      `INSERT INTO webhook_subscriptions
         (id, project_id, url, events, description, enabled, secret_encrypted, headers_encrypted, header_names)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [
        input.id,
        input.projectId,
        input.url,
        input.events,
        input.description,
        input.enabled,
        input.secretEncrypted,
        input.headers.sealed,
        input.headers.names,
      ],
    );
    return row;
  }

  async list(projectId: string, limit: number, offset: number): Promise<{ items: SubscriptionRow[]; total: number }> {
    const items = await rows<SubscriptionRow & { total: number }>(
      this.dataSource,
      `SELECT *, count(*) OVER ()::int AS total FROM webhook_subscriptions
        WHERE project_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3`,
      [projectId, limit, offset],
    );
    const total =
      items[0]?.total ??
      (
        await rows<{ n: number }>(
          this.dataSource,
          `SELECT count(*)::int AS n FROM webhook_subscriptions WHERE project_id = $1`,
          [projectId],
        )
      )[0].n;
    return { items, total };
  }

  async find(id: string, manager: EntityManager | DataSource = this.dataSource): Promise<SubscriptionRow | null> {
    const [row] = await rows<SubscriptionRow>(manager, `SELECT * FROM webhook_subscriptions WHERE id = $1`, [id]);
    return row ?? null;
  }

  /** Enabling again clears the failure count and the reason it was disabled. */
  async update(id: string, patch: SubscriptionPatch): Promise<SubscriptionRow | null> {
    const [row] = await rows<SubscriptionRow>(
      this.dataSource,
      `UPDATE webhook_subscriptions SET
         url = coalesce($2, url),
         events = coalesce($3, events),
         description = CASE WHEN $4 THEN $5 ELSE description END,
         enabled = coalesce($6, enabled),
         consecutive_failures = CASE WHEN $6 IS TRUE THEN 0 ELSE consecutive_failures END,
         disabled_reason = CASE WHEN $6 IS NOT NULL THEN NULL ELSE disabled_reason END,
         disabled_at = CASE WHEN $6 IS TRUE THEN NULL WHEN $6 IS FALSE AND enabled THEN now() ELSE disabled_at END,
         headers_encrypted = CASE WHEN $7 THEN $8 ELSE headers_encrypted END,
         header_names = CASE WHEN $7 THEN $9::text[] ELSE header_names END,
         updated_at = now()
       WHERE id = $1 RETURNING *`,
      [
        id,
        patch.url ?? null,
        patch.events ?? null,
        patch.description !== undefined,
        patch.description ?? null,
        patch.enabled ?? null,
        patch.headers !== undefined,
        patch.headers?.sealed ?? null,
        patch.headers?.names ?? [],
      ],
    );
    return row ?? null;
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await rows<{ id: string }>(
      this.dataSource,
      `DELETE FROM webhook_subscriptions WHERE id = $1 RETURNING id`,
      [id],
    );
    return deleted.length > 0;
  }

  /** The current secret becomes the previous one, signing beside the new one for `overlapMs`. */
  async rotate(id: string, secretEncrypted: string, overlapMs: number): Promise<SubscriptionRow | null> {
    const [row] = await rows<SubscriptionRow>(
      this.dataSource,
      `UPDATE webhook_subscriptions SET
         previous_secret_encrypted = secret_encrypted,
         previous_secret_expires_at = now() + $3::int * interval '1 millisecond',
         secret_encrypted = $2, updated_at = now()
       WHERE id = $1 RETURNING *`,
      [id, secretEncrypted, overlapMs],
    );
    return row ?? null;
  }

  /** Successful attempts end a run of failures. */
  async recordSuccesses(manager: EntityManager, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await rows(
      manager,
      `UPDATE webhook_subscriptions SET consecutive_failures = 0 WHERE id = ANY ($1::uuid[]) AND consecutive_failures <> 0`,
      [ids],
    );
  }

  /**
   * Counts a failed attempt; `gone` (410) disables at once, MAX_CONSECUTIVE_FAILURES in a row too.
   * Returns the reason when this call disabled the subscription.
   */
  async recordFailure(manager: EntityManager, id: string, gone: boolean): Promise<string | null> {
    const [row] = await rows<{ disabled_reason: string | null }>(
      manager,
      `UPDATE webhook_subscriptions s SET
         consecutive_failures = s.consecutive_failures + 1,
         enabled = s.enabled AND NOT ($2 OR s.consecutive_failures + 1 >= $3),
         disabled_reason = CASE WHEN s.enabled AND $2 THEN $4
                                WHEN s.enabled AND s.consecutive_failures + 1 >= $3 THEN $5
                                ELSE s.disabled_reason END,
         disabled_at = CASE WHEN s.enabled AND ($2 OR s.consecutive_failures + 1 >= $3) THEN now() ELSE s.disabled_at END,
         updated_at = now()
       FROM webhook_subscriptions old
       WHERE s.id = $1 AND old.id = s.id
       RETURNING CASE WHEN old.enabled AND NOT s.enabled THEN s.disabled_reason END AS disabled_reason`,
      [id, gone, MAX_CONSECUTIVE_FAILURES, DISABLED_GONE, DISABLED_FAILING],
    );
    return row?.disabled_reason ?? null;
  }
}
