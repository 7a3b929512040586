import { Logger } from '@nestjs/common';
import { type NextFunction, type Request, type Response } from 'express';
import { withLogFields } from './log-context';
import { requestIdOf } from './request-id';

const logger = new Logger('HTTP');

/**
 * The route template of a request once routed (`/api/experiments/:id`), else `unmatched`: log lines
 * and metrics name routes, never raw paths or query strings (which may carry a ticket).
 */
export function routeOf(request: Request): string {
  const { route } = request as unknown as { route?: { path?: unknown } };
  return typeof route?.path === 'string' ? `${request.baseUrl}${route.path}` : 'unmatched';
}

/**
 * One line per finished (or aborted) request: method, route template, status, duration. No query
 * string, header or body is ever logged (Authorization, tickets and keys stay out of the logs).
 */
export function accessLogMiddleware(request: Request, response: Response, next: NextFunction): void {
  const started = process.hrtime.bigint();
  let logged = false;
  const done = (): void => {
    if (logged) return;
    logged = true;
    const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
    const route = routeOf(request);
    const status = response.writableFinished ? response.statusCode : 499;
    withLogFields(
      { request_id: requestIdOf(request), method: request.method, route, status, duration_ms: durationMs },
      () => logger.log(`${request.method} ${route} ${status} ${durationMs} ms`),
    );
  };
  response.once('finish', done);
  response.once('close', done);
  next();
}
