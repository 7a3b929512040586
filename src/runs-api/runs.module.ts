import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventsModule } from '../events/events.module';
import { ExperimentsModule } from '../experiments/experiments.module';
import { ProvidersModule } from '../providers/providers.module';
import { ScoringModule } from '../scoring/scoring.module';
import { RunAccess } from './run-access.service';
import { RunLeaderboardService } from './run-leaderboard.service';
import { Run } from '../runs/run.entity';
import { RunsQueryService } from './runs-query.service';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';
import { RunRepositoryModule } from '../runs/run-repository.module';
import { StageResult } from '../runs/stage-result.entity';

/** The reference runs API: list/detail, ad-hoc runs, human scores, cancel, run leaderboard. */
@Module({
  imports: [
    TypeOrmModule.forFeature([Run, StageResult]),
    ScoringModule,
    ProvidersModule,
    ExperimentsModule,
    EventsModule,
    RunRepositoryModule,
  ],
  controllers: [RunsController],
  providers: [RunAccess, RunsService, RunsQueryService, RunLeaderboardService],
  exports: [RunsQueryService, RunLeaderboardService],
})
export class RunsModule {}
