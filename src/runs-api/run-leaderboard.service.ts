import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Principal } from '../common/principal';
import { ProjectRole } from '../projects/membership.entity';
import { LeaderboardResponseDto } from './dto/run-leaderboard.dto';
import { RunAccess } from './run-access.service';
import { ScoreReadModel } from '../scoring/score-read-model';
import { RUN_LEADERBOARD_FROM_MODEL_SQL, RUN_LEADERBOARD_SQL, type RunLeaderboardRow } from './runs.sql';
import { isPlainObject } from '../common/is-plain-object';

/** The reference's run leaderboard, ranked in PostgreSQL by one statement (RUN_LEADERBOARD_SQL). */
@Injectable()
export class RunLeaderboardService {
  constructor(
    private readonly runAccess: RunAccess,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly readModel: ScoreReadModel,
  ) {}

  async leaderboard(principal: Principal, experimentId: string, topN: number): Promise<LeaderboardResponseDto> {
    const experiment = await this.runAccess.requireExperiment(principal, experimentId, ProjectRole.Viewer);
    const weights = experiment.scoringConfig?.weights;
    // Non-numeric weights are ignored in SQL (jsonb_typeof); a non-object means "no weights".
    const weightsParam = JSON.stringify(isPlainObject(weights) ? weights : {});
    // The read model answers with an index scan of top_n rows; while it still holds values of
    // earlier weights (a rebuild is under way), the set-based statement gives the same answer.
    const rows: RunLeaderboardRow[] = (await this.readModel.isCurrent(experimentId, weightsParam))
      ? await this.dataSource.query(RUN_LEADERBOARD_FROM_MODEL_SQL, [experimentId, topN])
      : await this.dataSource.query(RUN_LEADERBOARD_SQL, [experimentId, weightsParam, topN]);
    return {
      experiment_id: experimentId,
      total: rows[0]?.total ?? 0,
      entries: rows.map((row) => ({
        run_id: row.run_id,
        config_hash: row.config_hash,
        config: row.config,
        status: row.status,
        weighted_score: row.weighted_score,
        scores: row.scores,
        duration_ms: row.duration_ms,
        tokens_in: row.tokens_in,
        tokens_out: row.tokens_out,
      })),
    };
  }
}
