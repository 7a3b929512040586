import { OutboxModule } from '../outbox/outbox.module';
import { DatasetsModule } from '../datasets/datasets.module';
import { PromptsModule } from '../prompts/prompts.module';
import { ExperimentConfigResolver } from './experiment-config.resolver';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { User } from '../auth/user.entity';
import { EventsModule } from '../events/events.module';
import { ProvidersModule } from '../providers/providers.module';
import { RunRepositoryModule } from '../runs/run-repository.module';
import { ScoringModule } from '../scoring/scoring.module';
import { ExperimentEventsService } from './experiment-events.service';
import { ExperimentExportService } from './experiment-export.service';
import { ExperimentLaunchService } from './experiment-launch.service';
import { Experiment } from './experiment.entity';
import { ExperimentsController } from './experiments.controller';
import { ExperimentsService } from './experiments.service';

/**
 * Experiments: CRUD and validation, grid expansion and launch, cancel/retry, live events and
 * export. Runs are written through RunRepository (runs/); their execution is RunDispatcher's.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([Experiment, User]),
    ProvidersModule,
    ScoringModule,
    EventsModule,
    OutboxModule,
    RunRepositoryModule,
    DatasetsModule,
    PromptsModule,
  ],
  controllers: [ExperimentsController],
  providers: [
    ExperimentsService,
    ExperimentConfigResolver,
    ExperimentLaunchService,
    ExperimentExportService,
    ExperimentEventsService,
  ],
  exports: [ExperimentsService],
})
export class ExperimentsModule {}
