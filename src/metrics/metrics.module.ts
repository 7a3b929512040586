import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

/** Global: providers, webhooks and the HTTP layer record into the one registry of the process. */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class MetricsModule {}
