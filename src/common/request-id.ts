import { randomUUID } from 'crypto';
import { type NextFunction, type Request, type Response } from 'express';
import { withLogFields } from './log-context';

/** An incoming X-Request-Id is kept only when it is a short, log-safe token; otherwise one is generated. */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

const KEY = Symbol('requestId');
type WithRequestId = Request & { [KEY]?: string; id?: unknown };

/** The request's id: the kept incoming one, or a generated UUID (assigned once, on first use). */
export function requestIdOf(request: Request): string {
  const req = request as WithRequestId;
  const existing = req[KEY];
  if (existing) return existing;
  const incoming = request.headers['x-request-id'];
  const id = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  req[KEY] = id;
  return id;
}

/**
 * Sets `X-Request-Id` on every response (errors, 404s and rejections of the middlewares after it
 * included), and puts it on every log line written while the request is handled.
 */
export function requestIdMiddleware(request: Request, response: Response, next: NextFunction): void {
  const id = requestIdOf(request);
  response.setHeader('X-Request-Id', id);
  withLogFields({ request_id: id }, next);
}
