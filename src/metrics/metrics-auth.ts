import { timingSafeEqual } from 'crypto';
import { type AppConfig } from '../config/configuration';

/**
 * The token rule of GET /metrics: open (embedded mode without METRICS_TOKEN), or
 * `Authorization: Bearer <METRICS_TOKEN>` compared in constant time; without a token nothing passes.
 */
export function metricsScrapeAllowed(authorization: string | undefined, rule: AppConfig['metrics']): boolean {
  if (rule.open) return true;
  const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '';
  return rule.token !== null && sameSecret(given, rule.token);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
