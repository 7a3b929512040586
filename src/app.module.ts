import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuthModule } from './auth/auth.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { ConnectionsModule } from './connections/connections.module';
import { AppConfig } from './config/configuration';
import { coreImports } from './database/core-imports';
import { DatasetsModule } from './datasets/datasets.module';
import { EventsModule } from './events/events.module';
import { ExecutionModule } from './execution/execution.module';
import { ExperimentsModule } from './experiments/experiments.module';
import { HealthModule } from './health/health.module';
import { LeaderboardModule } from './leaderboard/leaderboard.module';
import { ProjectsModule } from './projects/projects.module';
import { PromptsModule } from './prompts/prompts.module';
import { ProvidersModule } from './providers/providers.module';
import { RunsModule } from './runs-api/runs.module';
import { ScoringModule } from './scoring/scoring.module';
import { WebhooksModule } from './webhooks/webhooks.module';

/** The API process: every feature module. `config` is validated and resolved by bootstrap. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...coreImports(config),
        AuthModule,
        ProjectsModule,
        EventsModule,
        ProvidersModule,
        ExecutionModule.forRoot(config),
        ScoringModule,
        DatasetsModule,
        PromptsModule,
        ExperimentsModule,
        RunsModule,
        LeaderboardModule,
        ConnectionsModule,
        HealthModule,
        WebhooksModule.forRoot(config),
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
