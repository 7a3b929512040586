import { type NextFunction, type Request, type Response } from 'express';
import { routeOf } from '../common/access-log';
import { type MetricsService } from './metrics.service';

/** Observes every finished request's duration under its route template (never the raw path). */
export function httpMetricsMiddleware(metrics: MetricsService) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    response.once('finish', () => {
      metrics.observeHttp(
        request.method,
        routeOf(request),
        response.statusCode,
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  };
}
