import { Injectable, SetMetadata } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'crypto';
import { type Principal } from '../common/principal';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';

/** How long a ticket opens the stream (it is checked when the stream opens, not while it runs). */
export const SSE_TICKET_TTL_SECONDS = 60;
export const SSE_TICKET_PREFIX = 'sset_';

/** Marks a route that accepts `?ticket=` (for its `:id` experiment) instead of a bearer token. */
export const ACCEPTS_SSE_TICKET = 'acceptsSseTicket';
export const AcceptsSseTicket = (): MethodDecorator => SetMetadata(ACCEPTS_SSE_TICKET, true);

interface TicketPayload {
  /** experiment id */
  e: string;
  /** expiry, Unix ms */
  x: number;
  /** user id + email, or API key id + project id */
  u?: [string, string];
  k?: [string, string];
}

/**
 * Short-lived tickets for the experiment event stream, for browsers (EventSource cannot send an
 * Authorization header). A ticket is `sset_<payload>.<HMAC-SHA256>`, stateless so that any API
 * process accepts it, keyed with a key derived from JWT_SECRET for this purpose only: a ticket is
 * never a valid JWT or API key, and opens only the stream of its one experiment until it expires.
 * It stays valid until then so that EventSource's automatic reconnects (same URL) work.
 */
@Injectable()
export class SseTicketService {
  private readonly key: Buffer;

  constructor(@InjectConfig() config: AppConfig) {
    this.key = createHmac('sha256', config.jwtSecret as string)
      .update('promptlooper sse ticket v1')
      .digest();
  }

  issue(principal: Principal, experimentId: string, now = Date.now()): { ticket: string; expires_in: number } {
    const payload: TicketPayload = {
      e: experimentId,
      x: now + SSE_TICKET_TTL_SECONDS * 1000,
      ...(principal.kind === 'user'
        ? { u: [principal.userId, principal.email] }
        : { k: [principal.apiKeyId, principal.projectId] }),
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return { ticket: `${SSE_TICKET_PREFIX}${body}.${this.sign(body)}`, expires_in: SSE_TICKET_TTL_SECONDS };
  }

  /** The principal a ticket stands for, or null when it is malformed, forged, expired or for another experiment. */
  verify(ticket: string, experimentId: string, now = Date.now()): Principal | null {
    if (!ticket.startsWith(SSE_TICKET_PREFIX)) return null;
    const [body, signature, extra] = ticket.slice(SSE_TICKET_PREFIX.length).split('.');
    if (!body || !signature || extra !== undefined) return null;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let payload: TicketPayload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TicketPayload;
    } catch {
      return null;
    }
    if (payload.e !== experimentId || typeof payload.x !== 'number' || payload.x <= now) return null;
    if (payload.u) return { kind: 'user', userId: payload.u[0], email: payload.u[1] };
    if (payload.k) return { kind: 'api_key', apiKeyId: payload.k[0], projectId: payload.k[1] };
    return null;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
