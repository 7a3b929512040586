import { Controller, Get, Header, Headers, type OnModuleInit, Res, UnauthorizedException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { type Response } from 'express';
import { DataSource } from 'typeorm';
import { Public } from '../common/public.decorator';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { queryRows } from '../database/sql';
import { metricsScrapeAllowed } from '../metrics/metrics-auth';
import { MetricsService } from '../metrics/metrics.service';

/**
 * GET /metrics (outside /api): Prometheus text format. Public only in embedded mode without
 * METRICS_TOKEN; otherwise `Authorization: Bearer <METRICS_TOKEN>` (in distributed mode without a
 * token, metrics are off: every scrape is 401).
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.metrics.gauge('promptlooper_runs', 'Runs by status (all projects)', ['status'], async () =>
      (
        await queryRows<{ status: string; n: number }>(
          this.dataSource,
          `SELECT status::text AS status, count(*)::int AS n FROM runs GROUP BY status`,
        )
      ).map((r) => ({ labels: { status: r.status }, value: r.n })),
    );
    this.metrics.gauge('promptlooper_queue_depth', 'Runs waiting for a worker (pending)', [], async () => [
      {
        labels: {},
        value: (
          await queryRows<{ n: number }>(
            this.dataSource,
            `SELECT count(*)::int AS n FROM runs WHERE status = 'pending'`,
          )
        )[0].n,
      },
    ]);
  }

  @Public()
  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    if (!metricsScrapeAllowed(authorization, this.config.metrics))
      throw new UnauthorizedException('A valid METRICS_TOKEN bearer token is required');
    res.setHeader('Content-Type', this.metrics.contentType);
    res.send(await this.metrics.text());
  }
}
