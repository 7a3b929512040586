import { Injectable } from '@nestjs/common';
import { type EntityManager } from 'typeorm';
import { rows } from './sql';
import { OUTBOX_NOTIFY_CHANNEL, type OutboxEventType } from './outbox-event-types';
import { outboxBody, type OutboxResourceLink } from './outbox-body';

export interface AppendOptions {
  /** Where the resource can be read if `data` is cut to fit the size cap. */
  link?: OutboxResourceLink;
  /** Only this subscription receives the event (the test ping); otherwise every subscription listing `type`. */
  subscriptionId?: string;
}

/**
 * A subscription of the project wants the event: enabled and listing the type, or the one it targets.
 * A read of the webhooks module's table, in the caller's transaction.
 */
const WANTED = `EXISTS (SELECT 1 FROM webhook_subscriptions s
                 WHERE s.project_id = $1::uuid
                   AND CASE WHEN $3::uuid IS NULL THEN s.enabled AND $2::text = ANY (s.events) ELSE s.id = $3::uuid END)`;

/**
 * The transactional outbox: any module appends an event with the EntityManager of the transaction
 * that makes the change, so the event commits (or rolls back) with it and a crash can delay an
 * event but never lose it. Webhook delivery (src/webhooks) reads the rows later; this writer knows
 * nothing of it, so the modules that emit events never import the delivery side.
 *
 * Nothing is written when no subscription of the project wants the type: unsubscribed events (a
 * 10,000-run experiment's `run.completed`) cost one indexed EXISTS, not a row each. The insert
 * notifies OUTBOX_NOTIFY_CHANNEL, which PostgreSQL delivers at commit.
 */
@Injectable()
export class OutboxWriter {
  /** Appends the event when some subscription wants it; returns its id (the `webhook-id`), or null. */
  async append(
    manager: EntityManager,
    projectId: string,
    type: OutboxEventType,
    data: Record<string, unknown>,
    options: AppendOptions = {},
  ): Promise<string | null> {
    const found = await rows<{ id: string }>(
      manager,
      `WITH inserted AS (
         INSERT INTO outbox_events (project_id, type, subscription_id, body)
         SELECT $1::uuid, $2::text, $3::uuid, $4::text WHERE ${WANTED}
         RETURNING id
       )
       SELECT id, pg_notify('${OUTBOX_NOTIFY_CHANNEL}', '') AS notified FROM inserted`,
      [projectId, type, options.subscriptionId ?? null, outboxBody(type, data, options.link ?? null)],
    );
    return found[0]?.id ?? null;
  }

  /**
   * As `append`, but builds `data` only when a subscription wants the event: for data that costs a
   * query (an experiment with its progress counts).
   */
  async appendLazy(
    manager: EntityManager,
    projectId: string,
    type: OutboxEventType,
    data: () => Promise<Record<string, unknown>>,
    options: AppendOptions = {},
  ): Promise<string | null> {
    if (!(await this.wanted(manager, projectId, type, options.subscriptionId ?? null))) return null;
    return this.append(manager, projectId, type, await data(), options);
  }

  /** Whether some subscription of the project wants events of this type (enabled and listing it). */
  async wanted(
    manager: EntityManager,
    projectId: string,
    type: OutboxEventType,
    subscriptionId: string | null = null,
  ): Promise<boolean> {
    const found = await rows<{
      wanted: boolean;
    }>(manager, `SELECT ${WANTED} AS wanted`, [projectId, type, subscriptionId]);
    return found[0]?.wanted === true;
  }
}
