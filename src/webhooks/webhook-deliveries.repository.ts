import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { type ClaimedOutboxEvent } from '../outbox/outbox.repository';
import { rows } from '../outbox/sql';
import { type DueDelivery } from './webhooks.constants';

export type DeliveryStatus = 'pending' | 'delivering' | 'succeeded' | 'failed' | 'abandoned';

export interface ClaimedDelivery {
  id: string;
  event_id: string;
  subscription_id: string;
  /** This attempt's number (1-based). */
  attempts: number;
}

/** A claimed delivery with what its attempt needs (null columns: its event or subscription is gone). */
export interface ClaimedAttempt extends ClaimedDelivery {
  event_type: string | null;
  /** The exact body to send and sign. */
  body: string | null;
  project_id: string | null;
  url: string | null;
  enabled: boolean | null;
  secret_encrypted: string | null;
  /** The sealed custom header map, if any. */
  headers_encrypted: string | null;
  /** Only while the rotation's overlap lasts. */
  previous_secret_encrypted: string | null;
}

export interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** Retry due at; null when none follows. */
  nextAttemptAt: Date | null;
  status: DeliveryStatus;
}

export interface AttemptLogRow {
  id: string;
  delivery_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  created_at: Date;
  next_attempt_at: Date | null;
  delivery_status: DeliveryStatus;
}

const INTERRUPTED = 'interrupted: the process sending it stopped before an answer was recorded';

/** Every statement on `webhook_deliveries` and `webhook_delivery_attempts` (owned by the webhooks module). */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * One pending delivery per event and subscription that wants it: the subscriptions listing the
   * type (enabled), or the one a ping targets. Idempotent (a relay retried after a crash adds none twice).
   */
  async fanOut(manager: EntityManager, events: ClaimedOutboxEvent[]): Promise<DueDelivery[]> {
    if (events.length === 0) return [];
    return rows<DueDelivery>(
      manager,
      `INSERT INTO webhook_deliveries (event_id, subscription_id, status, next_attempt_at)
       SELECT e.id, s.id, 'pending', now()
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[]) AS e(id, project_id, type, target)
         JOIN webhook_subscriptions s ON s.project_id = e.project_id
          AND CASE WHEN e.target IS NULL THEN s.enabled AND e.type = ANY (s.events) ELSE s.id = e.target END
       ON CONFLICT (event_id, subscription_id) DO NOTHING
       RETURNING id, attempts, next_attempt_at`,
      [
        events.map((e) => e.id),
        events.map((e) => e.project_id),
        events.map((e) => e.type),
        events.map((e) => e.subscription_id),
      ],
    );
  }

  /**
   * Claims the due pending deliveries among `ids` for one attempt each (attempts + 1, leased for
   * `leaseMs`), in one statement, with what the attempt needs: the event's stored body (a read of
   * the outbox's table) and the subscription's URL and sealed secrets. A delivery another process
   * holds, one that is done, or one not due (`toleranceMs` absorbs clock skew with Redis) is left
   * out. A missing event or subscription comes back with null columns (the caller abandons it).
   */
  async claimMany(
    manager: EntityManager,
    ids: string[],
    leaseMs: number,
    toleranceMs: number,
  ): Promise<ClaimedAttempt[]> {
    if (ids.length === 0) return [];
    return rows<ClaimedAttempt>(
      manager,
      `WITH claimed AS (
         UPDATE webhook_deliveries SET status = 'delivering', attempts = attempts + 1,
                lease_expires_at = now() + $2::int * interval '1 millisecond', updated_at = now()
          WHERE id = ANY ($1::uuid[]) AND status = 'pending'
            AND next_attempt_at <= now() + $3::int * interval '1 millisecond'
         RETURNING id, event_id, subscription_id, attempts
       )
       SELECT c.id, c.event_id, c.subscription_id, c.attempts, e.type AS event_type, e.body,
              s.project_id, s.url, s.enabled, s.secret_encrypted, s.headers_encrypted,
              CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret_encrypted END AS previous_secret_encrypted
         FROM claimed c
         LEFT JOIN outbox_events e ON e.id = c.event_id
         LEFT JOIN webhook_subscriptions s ON s.id = c.subscription_id`,
      [ids, leaseMs, toleranceMs],
    );
  }

  /**
   * Writes attempts to the log and moves their deliveries on (those whose claim still holds), in
   * one statement: both happen or neither.
   */
  async recordAttempts(
    manager: EntityManager,
    attempts: { claim: ClaimedDelivery; outcome: AttemptOutcome }[],
  ): Promise<void> {
    if (attempts.length === 0) return;
    await rows(
      manager,
      `WITH o AS (
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::int[], $5::text[], $6::int[], $7::timestamptz[], $8::webhook_delivery_status[])
           AS o(id, subscription_id, attempt, status_code, error, duration_ms, next_attempt_at, status)
       ), logged AS (
         INSERT INTO webhook_delivery_attempts
           (delivery_id, subscription_id, attempt, status_code, error, duration_ms, next_attempt_at)
         SELECT id, subscription_id, attempt, status_code, error, duration_ms, next_attempt_at FROM o
         RETURNING 1
       ), moved AS (
         UPDATE webhook_deliveries d SET status = o.status, next_attempt_at = o.next_attempt_at,
                lease_expires_at = NULL, updated_at = now()
           FROM o WHERE d.id = o.id AND d.attempts = o.attempt AND d.status = 'delivering'
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM logged) AS logged, (SELECT count(*) FROM moved) AS moved`,
      [
        attempts.map((a) => a.claim.id),
        attempts.map((a) => a.claim.subscription_id),
        attempts.map((a) => a.claim.attempts),
        attempts.map((a) => a.outcome.statusCode),
        attempts.map((a) => a.outcome.error),
        attempts.map((a) => a.outcome.durationMs),
        attempts.map((a) => a.outcome.nextAttemptAt),
        attempts.map((a) => a.outcome.status),
      ],
    );
  }

  /** A delivery whose subscription was disabled meanwhile is not sent. */
  async abandon(manager: EntityManager, claim: ClaimedDelivery): Promise<void> {
    await rows(
      manager,
      `UPDATE webhook_deliveries SET status = 'abandoned', attempts = attempts - 1, lease_expires_at = NULL,
              next_attempt_at = NULL, updated_at = now()
        WHERE id = $1 AND attempts = $2 AND status = 'delivering'`,
      [claim.id, claim.attempts],
    );
  }

  /**
   * Deliveries whose sender died mid-attempt (lease expired): the attempt is logged as interrupted
   * and the delivery is due again at once, with the same event id (at least once).
   */
  /**
   * Deletes up to `limit` deliveries that finished (succeeded, failed or abandoned) more than `days`
   * days ago, oldest first; their attempt log goes with them (ON DELETE CASCADE). A redelivered one
   * counts from its last attempt. Answers how many deliveries and attempt rows went.
   */
  async pruneFinished(days: number, limit: number): Promise<{ deliveries: number; attempts: number }> {
    const [row] = await rows<{ deliveries: number; attempts: number }>(
      this.dataSource.manager,
      `WITH old AS (
         SELECT id FROM webhook_deliveries
          WHERE status IN ('succeeded', 'failed', 'abandoned') AND updated_at < now() - $1::int * interval '1 day'
          ORDER BY updated_at LIMIT $2
       ), attempts AS (
         SELECT count(*)::int AS n FROM webhook_delivery_attempts WHERE delivery_id IN (SELECT id FROM old)
       ), gone AS (
         DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM old) RETURNING id
       )
       SELECT (SELECT count(*)::int FROM gone) AS deliveries, (SELECT n FROM attempts) AS attempts`,
      [days, limit],
    );
    return row;
  }

  async releaseExpired(limit: number): Promise<DueDelivery[]> {
    return this.dataSource.transaction(async (manager) => {
      const released = await rows<DueDelivery & { subscription_id: string }>(
        manager,
        `WITH expired AS (
           SELECT id FROM webhook_deliveries WHERE status = 'delivering' AND lease_expires_at < now()
            ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
         )
         UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now(), lease_expires_at = NULL,
                updated_at = now()
           FROM expired WHERE d.id = expired.id
         RETURNING d.id, d.attempts, d.next_attempt_at, d.subscription_id`,
        [limit],
      );
      if (released.length > 0) {
        await rows(
          manager,
          `INSERT INTO webhook_delivery_attempts
             (delivery_id, subscription_id, attempt, status_code, error, duration_ms, next_attempt_at)
           SELECT t.id, t.subscription_id, t.attempts, NULL, $4, 0, now()
             FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS t(id, subscription_id, attempts)`,
          [
            released.map((r) => r.id),
            released.map((r) => r.subscription_id),
            released.map((r) => r.attempts),
            INTERRUPTED,
          ],
        );
      }
      return released.map(({ id, attempts, next_attempt_at }) => ({ id, attempts, next_attempt_at }));
    });
  }

  /** Pending deliveries due for longer than `graceMs`, oldest first, after the keyset `after`. */
  async overdue(graceMs: number, limit: number, after: { at: Date; id: string } | null): Promise<DueDelivery[]> {
    return rows<DueDelivery>(
      this.dataSource,
      `SELECT id, attempts, next_attempt_at FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at < now() - $1::int * interval '1 millisecond'
          AND ($3::timestamptz IS NULL OR (next_attempt_at, id) > ($3::timestamptz, $4::uuid))
        ORDER BY next_attempt_at, id LIMIT $2`,
      [graceMs, limit, after?.at ?? null, after?.id ?? null],
    );
  }

  async log(subscriptionId: string, limit: number, offset: number): Promise<{ items: AttemptLogRow[]; total: number }> {
    const [items, [{ n }]] = await Promise.all([
      rows<AttemptLogRow>(
        this.dataSource,
        `SELECT a.id, a.delivery_id, d.event_id, e.type AS event_type, a.attempt, a.status_code, a.error,
                a.duration_ms, a.created_at, a.next_attempt_at, d.status AS delivery_status
           FROM webhook_delivery_attempts a
           JOIN webhook_deliveries d ON d.id = a.delivery_id
           JOIN outbox_events e ON e.id = d.event_id
          WHERE a.subscription_id = $1
          ORDER BY a.created_at DESC, a.id DESC LIMIT $2 OFFSET $3`,
        [subscriptionId, limit, offset],
      ),
      rows<{ n: number }>(
        this.dataSource,
        `SELECT count(*)::int AS n FROM webhook_delivery_attempts WHERE subscription_id = $1`,
        [subscriptionId],
      ),
    ]);
    return { items, total: n };
  }

  /** The delivery of the subscription named by a delivery id or by the id of one of its attempts. */
  async findOfSubscription(
    subscriptionId: string,
    id: string,
  ): Promise<{ id: string; status: DeliveryStatus; attempts: number } | null> {
    const [row] = await rows<{ id: string; status: DeliveryStatus; attempts: number }>(
      this.dataSource,
      `SELECT d.id, d.status, d.attempts FROM webhook_deliveries d
        WHERE d.subscription_id = $1
          AND (d.id = $2 OR d.id = (SELECT delivery_id FROM webhook_delivery_attempts WHERE id = $2))`,
      [subscriptionId, id],
    );
    return row ?? null;
  }

  /** Makes a delivery that is not being sent right now due again at once (same event id). */
  async redeliver(id: string): Promise<DueDelivery | null> {
    const [row] = await rows<DueDelivery>(
      this.dataSource,
      `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), updated_at = now()
        WHERE id = $1 AND status <> 'delivering'
       RETURNING id, attempts, next_attempt_at`,
      [id],
    );
    return row ?? null;
  }
}
