import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { Principal } from '../common/principal';
import { invalid } from '../common/domain-error';
import { ProjectRole } from '../projects/membership.entity';
import { ScoringService } from '../scoring/scoring.service';
import { ListRunsQueryDto } from './dto/list-runs.query.dto';
import { RunDetailResponseDto, RunListResponseDto } from './dto/run.response.dto';
import { RunAccess } from './run-access.service';
import { runRowToResponse, runToDetailResponse, RunRow } from './run.mapper';
import { buildRunListQuery, RunListRow } from './runs.sql';
import { StageResult } from '../runs/stage-result.entity';

/** The read side of the runs API: the filtered list and a run's detail. */
@Injectable()
export class RunsQueryService {
  constructor(
    private readonly runAccess: RunAccess,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(StageResult) private readonly stageResults: Repository<StageResult>,
    private readonly scoring: ScoringService,
  ) {}

  async list(principal: Principal, query: ListRunsQueryDto): Promise<RunListResponseDto> {
    if (query.min_score !== undefined && query.max_score !== undefined && query.min_score > query.max_score) {
      throw invalid('min_score must not be greater than max_score');
    }
    let projectIds: string[];
    if (query.experiment_id !== undefined) {
      const experiment = await this.runAccess.requireExperiment(principal, query.experiment_id, ProjectRole.Viewer);
      projectIds = [experiment.projectId];
    } else {
      projectIds = await this.runAccess.readableProjectIds(principal);
    }
    if (projectIds.length === 0) return { items: [], total: 0 };
    const { sql, params } = buildRunListQuery({
      projectIds,
      experimentId: query.experiment_id,
      status: query.status,
      minScore: query.min_score,
      maxScore: query.max_score,
      limit: query.limit,
      offset: query.offset,
    });
    const rows: RunListRow[] = await this.dataSource.query(sql, params);
    return {
      total: rows[0]?.total ?? 0,
      items: rows.filter((row): row is RunListRow & RunRow => row.id !== null).map(runRowToResponse),
    };
  }

  async detail(principal: Principal, id: string): Promise<RunDetailResponseDto> {
    const run = await this.runAccess.requireRun(principal, id, ProjectRole.Viewer);
    const [stages, scores] = await Promise.all([
      this.stageResults.find({ where: { runId: id }, order: { stageIndex: 'ASC' } }),
      this.scoring.listScores([id]),
    ]);
    return runToDetailResponse(run, stages, scores);
  }
}
