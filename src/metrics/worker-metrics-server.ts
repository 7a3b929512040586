import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'http';
import { type AddressInfo } from 'net';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { metricsScrapeAllowed } from './metrics-auth';
import { MetricsService } from './metrics.service';

/**
 * A queue worker's own GET /metrics (WORKER_METRICS_PORT, always behind METRICS_TOKEN): the provider
 * calls, webhook deliveries and process figures of that worker, which the API's /metrics cannot see.
 * Runs by status and queue depth are the API's (read from the shared database), so summing over
 * workers never counts them twice.
 */
@Injectable()
export class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WorkerMetrics');
  private server: Server | null = null;

  constructor(
    private readonly metrics: MetricsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.metrics.workerPort;
    if (port === null) return;
    const server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.host, () => resolve());
    });
    this.server = server;
    this.logger.log(`metrics on http://${this.config.host}:${this.port()}/metrics`);
  }

  /** The port it listens on (the real one when WORKER_METRICS_PORT is 0), or null. */
  port(): number | null {
    return (this.server?.address() as AddressInfo | null)?.port ?? null;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return error(res, 404, 'Not Found', `Cannot ${req.method} ${path}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return error(res, 405, 'Method Not Allowed', 'Use GET');
    if (!metricsScrapeAllowed(req.headers.authorization, this.config.metrics))
      return error(res, 401, 'Unauthorized', 'A valid METRICS_TOKEN bearer token is required');
    try {
      const text = await this.metrics.text();
      res.writeHead(200, { 'Content-Type': this.metrics.contentType, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    } catch (cause) {
      this.logger.error(`collecting metrics failed: ${(cause as Error).message}`);
      error(res, 500, 'Internal Server Error', 'Collecting metrics failed');
    }
  }
}

/** The project's error body: statusCode, message, error. */
function error(res: ServerResponse, statusCode: number, name: string, message: string): void {
  res.writeHead(statusCode, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ statusCode, message, error: name }));
}
