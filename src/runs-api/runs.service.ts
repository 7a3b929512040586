import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Principal } from '../common/principal';
import { conflict, ErrorCode, invalid } from '../common/domain-error';
import { RunEventsService } from '../events/run-events.service';
import { ExperimentCompletionService } from '../experiments/experiment-completion.service';
import { RunDispatcher } from '../runs/run-dispatcher';
import { ProjectRole } from '../projects/membership.entity';
import { ProjectModels } from '../providers/project-models';
import { ScoringService } from '../scoring/scoring.service';
import { adHocConfigProblems, adHocProviderProblems } from './ad-hoc-config.check';
import { computeConfigHash } from '../domain/canonical-json';
import { CreateRunDto } from './dto/create-run.dto';
import { RunResponseDto } from './dto/run.response.dto';
import { HumanScoreResponseDto, ScoreRunDto } from './dto/score-run.dto';
import { RunAccess } from './run-access.service';
import { RunRepository } from '../runs/run.repository';
import { RunConfig } from '../domain/configs';
import { RunStatus } from '../domain/statuses';
import { humanScoreToResponse, runRowToResponse, RunRow } from './run.mapper';

/** The write side of the runs API: ad-hoc runs, human scores, cancellation. */
@Injectable()
export class RunsService {
  private readonly logger = new Logger(RunsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly runs: RunRepository,
    private readonly runAccess: RunAccess,
    private readonly models: ProjectModels,
    private readonly dispatcher: RunDispatcher,
    private readonly scoring: ScoringService,
    private readonly events: RunEventsService,
    // Provided by ExecutionModule.forRoot (global); absent in a process that does not configure execution.
    @Optional()
    @Inject(ExperimentCompletionService)
    private readonly completion: ExperimentCompletionService | null = null,
  ) {}

  /**
   * Inserts one pending run (repetition 0) and, once that insert has committed, hands its id to
   * the dispatcher, so a worker can never look for a row that is not visible yet.
   */
  async createAdHoc(principal: Principal, dto: CreateRunDto): Promise<RunResponseDto> {
    const experiment = await this.runAccess.requireExperiment(principal, dto.experiment_id, ProjectRole.Editor);
    const models = await this.models.checker(experiment.projectId);
    const problems = adHocConfigProblems(dto.config, (model) => models.validate(model));
    if (problems.length === 0) problems.push(...adHocProviderProblems(dto.config, models));
    if (problems.length > 0) throw invalid(problems);
    // A plain JSON copy of the validated DTO: what was sent, without absent keys or class prototypes.
    const config = JSON.parse(JSON.stringify(dto.config)) as RunConfig;
    const run = await this.runs.insertOne<RunRow>(this.dataSource, {
      experimentId: experiment.id,
      projectId: experiment.projectId,
      config,
      configHash: computeConfigHash(config),
      useCache: config.cache ?? true,
    });
    await this.events.publish({
      type: 'run.status',
      experiment_id: run.experiment_id,
      run_id: run.id,
      status: RunStatus.Pending,
    });
    try {
      await this.dispatcher.dispatch([run.id]);
    } catch (error) {
      // The run is committed as pending: the execution sweeper re-dispatches pending runs that have no job.
      this.logger.warn(`run ${run.id}: dispatch failed, left pending for the sweeper: ${(error as Error).message}`);
    }
    return runRowToResponse(run);
  }

  async addHumanScore(principal: Principal, runId: string, dto: ScoreRunDto): Promise<HumanScoreResponseDto> {
    const run = await this.runAccess.requireRun(principal, runId, ProjectRole.Editor);
    const score = await this.scoring.addHumanScore(runId, dto.scorer_name, dto.value, dto.metadata ?? null, principal);
    await this.events.publish({
      type: 'run.scored',
      experiment_id: run.experimentId,
      run_id: run.id,
      scores: { [score.scorerName]: score.value },
      source: score.source,
    });
    return humanScoreToResponse(score);
  }

  /**
   * pending/running → cancelled in one conditional UPDATE, so a run that finishes meanwhile is
   * never overwritten. A running run's executor sees the status at its next stage boundary and
   * discards its result.
   */
  async cancel(principal: Principal, runId: string): Promise<RunResponseDto> {
    const run = await this.runAccess.requireRun(principal, runId, ProjectRole.Editor);
    const cancelled = await this.runs.cancelOne<RunRow>(this.dataSource, runId);
    if (!cancelled) throw conflict('Run already finished', ErrorCode.RunAlreadyFinished);
    this.logger.log(`run ${runId} cancelled (was ${run.status})`);
    await this.events.publish({
      type: 'run.status',
      experiment_id: run.experimentId,
      run_id: runId,
      status: RunStatus.Cancelled,
    });
    // The experiment completes when its last run ends, whichever way it ended.
    await this.completion?.runsEnded([run.experimentId]);
    return runRowToResponse(cancelled);
  }
}
