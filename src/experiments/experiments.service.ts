import { addLogFields } from '../common/log-context';
import { Injectable } from '@nestjs/common';
import { runSql } from '../database/sql';
import { RunRepository } from '../runs/run.repository';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { Principal } from '../common/principal';
import { User } from '../auth/user.entity';
import { conflict, ErrorCode, invalid, notFound } from '../common/domain-error';
import { Page } from '../common/pagination.dto';
import { AccessPolicy } from '../projects/access-policy.service';
import { ProjectRole } from '../projects/membership.entity';
import { type ProjectModelChecker, ProjectModels } from '../providers/project-models';
import { ScoringService } from '../scoring/scoring.service';
import {
  CreateExperimentDto,
  ExperimentDetailDto,
  ExperimentDto,
  ListExperimentsQueryDto,
  ProgressDto,
  UpdateExperimentDto,
} from './dto/experiment.dto';
import { RescoreResultDto } from './dto/launch.dto';
import { checkExperimentConfig } from './experiment-config.validator';
import { ExperimentConfigResolver, type ResolvedConfig } from './experiment-config.resolver';
import { validatorView } from './experiment-prompts';
import { experimentCallSites, unsupportedProblems } from './provider-checks';
import { Experiment } from './experiment.entity';
import { ExperimentConfig, ScoringConfig } from '../domain/configs';
import { ExperimentStatus } from '../domain/statuses';
import { EXPERIMENT_PROGRESS_SQL } from './sql';

export const EXPERIMENT_NOT_FOUND = 'Experiment not found';

export function toExperimentDto(e: Experiment): ExperimentDto {
  return {
    id: e.id,
    project_id: e.projectId,
    name: e.name,
    description: e.description,
    config: e.config as unknown as Record<string, unknown>,
    scoring_config: (e.scoringConfig as Record<string, unknown> | null) ?? null,
    status: e.status,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
    launched_at: e.launchedAt?.toISOString() ?? null,
    completed_at: e.completedAt?.toISOString() ?? null,
    budget_usd: e.budgetUsd ?? null,
    spend: { cost_usd: e.spendCostUsd ?? 0, judge_cost_usd: e.spendJudgeUsd ?? 0 },
    stop_reason: e.stopReason ?? null,
  };
}

/** Experiment CRUD, its validation and its progress. Launch/cancel/retry: ExperimentLaunchService. */
@Injectable()
export class ExperimentsService {
  constructor(
    @InjectRepository(Experiment) private readonly experiments: Repository<Experiment>,
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly dataSource: DataSource,
    private readonly access: AccessPolicy,
    private readonly scoring: ScoringService,
    private readonly models: ProjectModels,
    private readonly runs: RunRepository,
    private readonly resolver: ExperimentConfigResolver,
  ) {}

  /** The experiment if the caller has `role` in its project: 404 for non-members, 403 for a lower role. */
  async findAccessible(principal: Principal, id: string, role: ProjectRole): Promise<Experiment> {
    const experiment = await this.experiments.findOne({ where: { id } });
    if (!experiment) throw notFound(EXPERIMENT_NOT_FOUND);
    await this.access.require(principal, experiment.projectId, role, EXPERIMENT_NOT_FOUND);
    addLogFields({ experiment_id: id });
    return experiment;
  }

  /**
   * Every problem of a config (stored form: references resolved) and a scoring config, each naming
   * its field (models resolve in the project); then what the providers cannot do: a field a model
   * cannot honour, a model without usable credentials (judges included); under a budget every model,
   * judges included, needs a price. With `datasetVersionId` the items of that version are checked
   * for every variable (SQL).
   */
  async validate(
    projectId: string,
    config: unknown,
    scoringConfig: unknown,
    budgetUsd: number | null = null,
    datasetVersionId: string | null = null,
  ): Promise<string[]> {
    const models = await this.models.checker(projectId);
    const view = validatorView(config);
    const checked = checkExperimentConfig(view, (model) => models.validate(model));
    // Judge models resolve in the project like stage models: a connection prefix is valid.
    const judgeModel = (model: string) => models.validate(model);
    const problems = [...checked.problems, ...this.scoring.validateScoringConfig(scoringConfig ?? null, judgeModel)];
    if (datasetVersionId !== null && checked.problems.length === 0) {
      problems.push(...(await this.resolver.missingItemVariables(datasetVersionId, checked.uses)));
    }
    if (problems.length > 0) return problems;
    problems.push(...providerProblems(view, scoringConfig, models));
    if (budgetUsd !== null && problems.length === 0) {
      for (const model of modelsOf(config, scoringConfig)) {
        if (!models.price(model))
          problems.push(
            `budget_usd: model "${model}" has no price (set prices on its connection or MODEL_PRICES), so spend could not be counted`,
          );
      }
    }
    return problems;
  }

  /** Resolves a submitted config's references and lists every problem of the result. */
  private async resolveAndValidate(
    projectId: string,
    config: unknown,
    scoringConfig: unknown,
    budgetUsd: number | null,
  ): Promise<{ resolved: ResolvedConfig; problems: string[] }> {
    const resolved = await this.resolver.resolve(projectId, config);
    const problems = [
      ...resolved.problems,
      ...(await this.validate(
        projectId,
        resolved.config,
        scoringConfig,
        budgetUsd,
        resolved.problems.length === 0 ? resolved.datasetVersionId : null,
      )),
    ];
    return { resolved, problems };
  }

  async create(principal: Principal, dto: CreateExperimentDto): Promise<ExperimentDto> {
    const projectId = await this.targetProject(principal, dto.project_id);
    await this.access.require(principal, projectId, ProjectRole.Editor, 'Project not found');
    const { resolved, problems } = await this.resolveAndValidate(
      projectId,
      dto.config,
      dto.scoring_config,
      dto.budget_usd ?? null,
    );
    if (problems.length > 0) throw invalid(problems);
    const saved = await this.experiments.save(
      this.experiments.create({
        projectId,
        name: dto.name,
        description: dto.description ?? null,
        config: resolved.config as ExperimentConfig,
        scoringConfig: (dto.scoring_config ?? null) as ScoringConfig | null,
        budgetUsd: dto.budget_usd ?? null,
        datasetVersionId: resolved.datasetVersionId,
      }),
    );
    return toExperimentDto(saved);
  }

  async list(principal: Principal, query: ListExperimentsQueryDto): Promise<Page<ExperimentDto>> {
    const readable = await this.access.projectIds(principal);
    const projectIds = query.project_id ? readable.filter((p) => p === query.project_id) : readable;
    if (projectIds.length === 0) return { items: [], total: 0 };
    const qb = this.experiments
      .createQueryBuilder('e')
      .where('e.projectId IN (:...projectIds)', { projectIds })
      .orderBy('e.createdAt', 'DESC')
      .addOrderBy('e.id', 'DESC')
      .take(query.limit)
      .skip(query.offset);
    if (query.status) qb.andWhere('e.status = :status', { status: query.status });
    const [rows, total] = await qb.getManyAndCount();
    return { items: rows.map(toExperimentDto), total };
  }

  async get(principal: Principal, id: string): Promise<ExperimentDetailDto> {
    const experiment = await this.findAccessible(principal, id, ProjectRole.Viewer);
    return { ...toExperimentDto(experiment), progress: await this.progress(id) };
  }

  /** The current status, null when the experiment no longer exists. No access check: callers did it. */
  async status(id: string): Promise<ExperimentStatus | null> {
    const row = await this.experiments.findOne({ where: { id }, select: { id: true, status: true } });
    return row?.status ?? null;
  }

  async progress(experimentId: string): Promise<ProgressDto> {
    const { rows } = await runSql<ProgressDto>(this.dataSource.manager, EXPERIMENT_PROGRESS_SQL, [experimentId]);
    return rows[0];
  }

  async update(principal: Principal, id: string, dto: UpdateExperimentDto): Promise<ExperimentDto> {
    const experiment = await this.findAccessible(principal, id, ProjectRole.Editor);
    const changesConfig = dto.config !== undefined;
    if (changesConfig && experiment.status !== ExperimentStatus.Draft) throw this.frozen(experiment.status);
    const budget = dto.budget_usd !== undefined ? dto.budget_usd : experiment.budgetUsd;
    let resolved: ResolvedConfig | null = null;
    const problems: string[] = [];
    if (changesConfig) {
      const checked = await this.resolveAndValidate(
        experiment.projectId,
        dto.config,
        dto.scoring_config !== undefined ? dto.scoring_config : experiment.scoringConfig,
        budget,
      );
      resolved = checked.resolved;
      problems.push(...checked.problems);
    } else {
      if (dto.scoring_config !== undefined) {
        // New judges resolve in the project (connections included) and must be callable, as at creation.
        const models = await this.models.checker(experiment.projectId);
        problems.push(...this.scoring.validateScoringConfig(dto.scoring_config, (model) => models.validate(model)));
        if (problems.length === 0) {
          problems.push(...providerProblems(validatorView(experiment.config), dto.scoring_config, models));
        }
      }
      if (problems.length === 0 && budget !== null && dto.budget_usd !== undefined) {
        problems.push(
          ...(await this.validate(
            experiment.projectId,
            experiment.config,
            dto.scoring_config !== undefined ? dto.scoring_config : experiment.scoringConfig,
            budget,
          )),
        );
      }
    }
    if (problems.length > 0) throw invalid(problems);

    const set: Record<string, unknown> = {};
    if (dto.name !== undefined) set.name = dto.name;
    if (dto.description !== undefined) set.description = dto.description;
    if (resolved) {
      set.config = resolved.config;
      set.datasetVersionId = resolved.datasetVersionId;
    }
    if (dto.scoring_config !== undefined) set.scoringConfig = dto.scoring_config;
    if (dto.budget_usd !== undefined) set.budgetUsd = dto.budget_usd;
    if (Object.keys(set).length === 0) return toExperimentDto(experiment);

    const qb = this.experiments.createQueryBuilder().update(Experiment).set(set).where('id = :id', { id });
    // A launch may have committed since the read: the config only changes while still a draft.
    if (changesConfig) qb.andWhere('status = :draft', { draft: ExperimentStatus.Draft });
    const result = await qb.execute();
    const current = await this.experiments.findOne({ where: { id } });
    if (!current) throw notFound(EXPERIMENT_NOT_FOUND);
    if (result.affected === 0) throw this.frozen(current.status);
    // New weights re-value every run; until the rebuild is done, reads use the set-based SQL.
    if (dto.scoring_config !== undefined) this.scoring.scoringConfigChanged(id);
    return toExperimentDto(current);
  }

  /**
   * Removes the experiment with its runs, stage results and scores in one transaction. The
   * children go first with one set-based DELETE each: far cheaper than letting the cascade
   * delete them run by run.
   */
  async remove(principal: Principal, id: string): Promise<void> {
    await this.findAccessible(principal, id, ProjectRole.Editor);
    await this.dataSource.transaction(async (em) => {
      await this.scoring.deleteScoresOfExperiment(em, id);
      await this.runs.deleteOfExperiment(em, id);
      await runSql(em, `DELETE FROM experiments WHERE id = $1`, [id]);
    });
  }

  /** Recomputes the automatic scores of the experiment's finished runs with its current scoring_config. */
  async rescore(principal: Principal, id: string): Promise<RescoreResultDto> {
    await this.findAccessible(principal, id, ProjectRole.Editor);
    return this.scoring.rescoreExperiment(id);
  }

  /** The project a new experiment goes to: the given one, the API key's, or the user's personal one. */
  private async targetProject(principal: Principal, projectId: string | undefined): Promise<string> {
    if (projectId) return projectId;
    if (principal.kind === 'api_key') return principal.projectId;
    const user = await this.users.findOne({
      where: { id: principal.userId },
      select: { id: true, defaultProjectId: true },
    });
    if (!user?.defaultProjectId) throw invalid('project_id is required: the caller has no personal project');
    return user.defaultProjectId;
  }

  private frozen(status: ExperimentStatus) {
    return conflict(
      `config cannot change once the experiment is launched (status: ${status}); scoring_config, name and description still can`,
      ErrorCode.ExperimentConfigFrozen,
    );
  }
}

/**
 * What the providers cannot do for a (valid) config: fields a model cannot honour, naming model and
 * field, and models whose provider has no usable credentials, naming what to set.
 */
function providerProblems(config: unknown, scoringConfig: unknown, models: ProjectModelChecker): string[] {
  const problems = unsupportedProblems(experimentCallSites(config as ExperimentConfig), models);
  for (const model of modelsOf(config, scoringConfig)) {
    const missing = models.credentials(model);
    if (missing) problems.push(`model "${model}" has no usable credentials: set ${missing}`);
  }
  return problems;
}

/** Every model an experiment may call: grid models, stage models and llm_judge models. */
function modelsOf(config: unknown, scoringConfig: unknown): string[] {
  const models = new Set<string>();
  const cfg = (config ?? {}) as { models?: unknown; stages?: unknown };
  if (Array.isArray(cfg.models)) cfg.models.forEach((m) => typeof m === 'string' && models.add(m));
  if (Array.isArray(cfg.stages))
    cfg.stages.forEach((s: { model?: unknown }) => typeof s?.model === 'string' && models.add(s.model));
  const scorers = (scoringConfig as { scorers?: unknown } | null)?.scorers;
  if (Array.isArray(scorers))
    scorers.forEach((s: { type?: unknown; params?: { model?: unknown } }) => {
      if (s?.type === 'llm_judge' && typeof s.params?.model === 'string') models.add(s.params.model);
    });
  return [...models];
}
