import { Injectable } from '@nestjs/common';
import { type EntityManager } from 'typeorm';
import { rows } from './sql';
import { type OutboxEventType } from './outbox-event-types';

/** An outbox row handed to a relay: what it needs to fan the event out to subscriptions. */
export interface ClaimedOutboxEvent {
  id: string;
  project_id: string;
  type: OutboxEventType;
  subscription_id: string | null;
}

export interface StoredOutboxEvent {
  id: string;
  project_id: string;
  type: OutboxEventType;
  /** The exact body to send and sign. */
  body: string;
  created_at: Date;
}

/** Every statement on `outbox_events` besides the writer's insert (the outbox module owns the table). */
@Injectable()
export class OutboxRepository {
  /**
   * Marks up to `limit` undispatched events dispatched and returns them, oldest first. Run it in the
   * transaction that records what the events became (deliveries): a relay that dies before its
   * commit leaves them undispatched for the next one. SKIP LOCKED lets several relays share the work.
   */
  async claimUndispatched(manager: EntityManager, limit: number): Promise<ClaimedOutboxEvent[]> {
    return await rows<ClaimedOutboxEvent>(
      manager,
      `UPDATE outbox_events o SET dispatched_at = now()
         FROM (SELECT id FROM outbox_events WHERE dispatched_at IS NULL
                ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) c
        WHERE o.id = c.id
       RETURNING o.id, o.project_id, o.type, o.subscription_id`,
      [limit],
    );
  }

  /**
   * Deletes up to `limit` events relayed more than `days` days ago that no delivery refers to any
   * more (the webhooks module deletes finished deliveries first; one still pending keeps its event,
   * whose body it sends), oldest first. Answers how many went.
   */
  async pruneDispatched(manager: EntityManager, days: number, limit: number): Promise<number> {
    const gone = await rows<{ id: string }>(
      manager,
      `DELETE FROM outbox_events WHERE id IN (
         SELECT o.id FROM outbox_events o
          WHERE o.dispatched_at < now() - $1::int * interval '1 day'
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = o.id)
          ORDER BY o.dispatched_at LIMIT $2)
       RETURNING id`,
      [days, limit],
    );
    return gone.length;
  }

  async find(manager: EntityManager, id: string): Promise<StoredOutboxEvent | null> {
    const found = await rows<StoredOutboxEvent>(
      manager,
      `SELECT id, project_id, type, body, created_at FROM outbox_events WHERE id = $1`,
      [id],
    );
    return found[0] ?? null;
  }
}
