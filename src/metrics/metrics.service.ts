import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Collects a gauge's value when /metrics is scraped (e.g. from the database). */
export type GaugeSource = () => Promise<Array<{ labels: Record<string, string>; value: number }>>;

/**
 * The process's Prometheus metrics (prom-client), one registry per app instance so several apps
 * in one process (the tests) never share or double-register a metric. Labels are bounded sets:
 * route templates (never raw paths), provider prefixes, outcome kinds, statuses.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'promptlooper_http_request_duration_seconds',
    help: 'HTTP request durations by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly providerCalls = new Histogram({
    name: 'promptlooper_provider_call_duration_seconds',
    help: 'Provider call attempts by provider prefix and outcome (success, rate_limit, server_error, timeout, permanent, aborted)',
    labelNames: ['provider', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  private readonly webhookDeliveries = new Counter({
    name: 'promptlooper_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (succeeded, pending = will retry, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'promptlooper_' });
  }

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  observeProviderCall(provider: string, outcome: string, seconds: number): void {
    this.providerCalls.observe({ provider, outcome }, seconds);
  }

  countWebhookDelivery(outcome: string): void {
    this.webhookDeliveries.inc({ outcome });
  }

  /** A gauge whose values are read from `source` at each scrape. */
  gauge(name: string, help: string, labelNames: string[], source: GaugeSource): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { labels, value } of await source()) this.set(labels, value);
      },
    });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
