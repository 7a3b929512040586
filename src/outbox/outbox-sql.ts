import { MAX_EVENT_BODY_BYTES, OUTBOX_NOTIFY_CHANNEL, type OutboxEventType } from './outbox-event-types';

/** A timestamptz as JavaScript's toISOString() writes it (the API's timestamp format). */
export const isoSql = (expr: string): string =>
  `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export interface OutboxCteOptions {
  /** A CTE (or table) of the same statement, one row per event. */
  from: string;
  type: OutboxEventType;
  /** SQL expressions over `from`'s columns (alias `f`). */
  projectId: string;
  data: string;
  resourceId: string;
  href: string;
}

/**
 * For the hottest transitions (a run ending), the outbox append as part of the statement that makes
 * the change: `name` inserts one event per row of `from` whose project has a subscription wanting
 * `type` (same body and cap as OutboxWriter.append), and `${name}_notified` wakes the relays when
 * the outbox had nothing undispatched. Otherwise a relay is on it already: it passes again soon after
 * every pass that found events, so a stream of run events does not NOTIFY once per run (a NOTIFY
 * takes a cluster-wide lock while its transaction commits, and the runs would queue on it). The rare
 * event that commits just after a relay's last, empty pass waits for its next poll. The caller's final SELECT must read `${name}_notified` (e.g. `(SELECT count(*) FROM
 * evt_notified)`), or PostgreSQL skips it. No subscription: one indexed EXISTS, no extra round trip.
 */
export function outboxInsertCte(name: string, o: OutboxCteOptions): string {
  const body = (data: string) =>
    `json_build_object('type', '${o.type}', 'timestamp', ${isoSql('now()')}, 'data', ${data})::text`;
  return `${name} AS (
  INSERT INTO outbox_events (project_id, type, body)
  SELECT ${o.projectId}, '${o.type}',
         CASE WHEN octet_length(b.body) <= ${MAX_EVENT_BODY_BYTES} THEN b.body
              ELSE ${body(`json_build_object('id', ${o.resourceId}, 'truncated', true, 'href', ${o.href})`)} END
    FROM ${o.from} f
    CROSS JOIN LATERAL (SELECT ${body(o.data)} AS body) b
   WHERE EXISTS (SELECT 1 FROM webhook_subscriptions s
                  WHERE s.project_id = ${o.projectId} AND s.enabled AND '${o.type}' = ANY (s.events))
  RETURNING id
), ${name}_notified AS (
  SELECT pg_notify('${OUTBOX_NOTIFY_CHANNEL}', '') FROM (SELECT 1 FROM ${name} LIMIT 1) one
   WHERE NOT EXISTS (SELECT 1 FROM outbox_events WHERE dispatched_at IS NULL)
)`;
}
