import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Experiment } from '../experiments/experiment.entity';
import { CompareToController } from './compare-to.controller';
import { CompareToService } from './compare-to.service';
import { ScoringModule } from '../scoring/scoring.module';
import { ConfigLeaderboardService } from './config-leaderboard.service';
import { GateService } from './gate.service';
import { LeaderboardController } from './leaderboard.controller';

/**
 * Rankings and statistics. Reads scoring's score read model where it can answer exactly, else runs
 * and scores with set-based SQL (leaderboard.sql.ts); the experiment row only for its project
 * (access) and its weights.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Experiment]), ScoringModule],
  controllers: [LeaderboardController, CompareToController],
  providers: [ConfigLeaderboardService, CompareToService, GateService],
  exports: [ConfigLeaderboardService],
})
export class LeaderboardModule {}
