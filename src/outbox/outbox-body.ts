import { MAX_EVENT_BODY_BYTES, type OutboxEventType } from './outbox-event-types';

/** Where the full resource can be read when `data` had to be cut to fit the size cap. */
export interface OutboxResourceLink {
  /** The resource's id (kept in the truncated `data`). */
  id: string;
  /** API path of the resource, e.g. `/api/experiments/<id>`. */
  href: string;
}

/**
 * The Standard Webhooks body `{type, timestamp, data}`, serialised once when the event is written so
 * every retry sends (and signs) the same bytes. A body over MAX_EVENT_BODY_BYTES keeps only the
 * resource's id with `truncated: true` and the link to read it.
 */
export function outboxBody(
  type: OutboxEventType,
  data: Record<string, unknown>,
  link: OutboxResourceLink | null,
  timestamp: Date = new Date(),
): string {
  const at = timestamp.toISOString();
  const body = JSON.stringify({ type, timestamp: at, data });
  if (Buffer.byteLength(body, 'utf8') <= MAX_EVENT_BODY_BYTES) return body;
  const id = link?.id ?? (typeof data.id === 'string' ? data.id : null);
  return JSON.stringify({ type, timestamp: at, data: { id, truncated: true, href: link?.href ?? null } });
}
