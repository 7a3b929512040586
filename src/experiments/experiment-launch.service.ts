import { appendExperimentEvent, type StopReason } from './experiment-event-data';
import { runSql } from '../database/sql';
import { OutboxWriter } from '../outbox/outbox.writer';
import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Principal } from '../common/principal';
import { conflict, ErrorCode, invalid, notFound } from '../common/domain-error';
import { RunEventsService } from '../events/run-events.service';
import { RunDispatcher } from '../runs/run-dispatcher';
import { type LaunchBatch, RunRepository } from '../runs/run.repository';
import { ProjectRole } from '../projects/membership.entity';
import { RunStatus } from '../domain/statuses';
import { PriceTable } from '../providers/price-table';
import { ProjectModels } from '../providers/project-models';
import {
  CancelResultDto,
  DEFAULT_MAX_RUNS,
  LaunchExperimentDto,
  LaunchResultDto,
  RetryFailedResultDto,
} from './dto/launch.dto';
import { Experiment } from './experiment.entity';
import { ExperimentConfig } from '../domain/configs';
import { ExperimentStatus } from '../domain/statuses';
import { ExperimentsService, EXPERIMENT_NOT_FOUND } from './experiments.service';
import {
  type CellRef,
  countGrid,
  type GridItem,
  inlineItems,
  planCellRefs,
  planGrid,
  planParts,
} from './grid-expansion';
import { DatasetsService } from '../datasets/datasets.service';
import { estimateGridCost } from './launch-cost-estimate';
import { RunIdGenerator } from './run-id';

export const LAUNCH_OPTIONS = Symbol('LAUNCH_OPTIONS');

export interface LaunchOptions {
  /** Rows per multi-row INSERT: one JSON parameter per batch, so fewer round trips than rows. */
  insertBatchSize?: number;
  /** Run ids per RunDispatcher.dispatch call. */
  dispatchChunkSize?: number;
}

/** Dataset items read per batch at launch (keyset pagination): memory holds one batch, never the dataset. */
const ITEM_BATCH_SIZE = 1000;

/** What the launch wrote, so the runs can be dispatched after the commit. */
interface Inserted {
  runIds: string[];
  planned: number;
  estimated: number | null;
}

/** Launch (plan, insert in batches, dispatch), cancel and retry of an experiment's runs. */
@Injectable()
export class ExperimentLaunchService implements OnModuleDestroy {
  private readonly logger = new Logger(ExperimentLaunchService.name);
  /** Dispatches still running after their request was answered. */
  private readonly background = new Set<Promise<void>>();
  private readonly insertBatchSize: number;
  private readonly dispatchChunkSize: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly experiments: ExperimentsService,
    private readonly dispatcher: RunDispatcher,
    private readonly prices: PriceTable,
    private readonly events: RunEventsService,
    private readonly outbox: OutboxWriter,
    private readonly models: ProjectModels,
    private readonly runs: RunRepository,
    private readonly datasets: DatasetsService,
    @Optional() @Inject(LAUNCH_OPTIONS) options: LaunchOptions | null = null,
  ) {
    this.insertBatchSize = options?.insertBatchSize ?? 5000;
    this.dispatchChunkSize = options?.dispatchChunkSize ?? 5000;
  }

  async launch(principal: Principal, id: string, dto: LaunchExperimentDto): Promise<LaunchResultDto> {
    const experiment = await this.experiments.findAccessible(principal, id, ProjectRole.Editor);
    const limit = dto.max_runs ?? DEFAULT_MAX_RUNS;
    if (!dto.dry_run && experiment.status !== ExperimentStatus.Draft) throw this.alreadyLaunched(experiment.status);
    // Validated when written, but the providers or scorer types may have changed since.
    const problems = await this.experiments.validate(
      experiment.projectId,
      experiment.config,
      experiment.scoringConfig,
      experiment.budgetUsd,
    );
    if (problems.length > 0) throw invalid(problems);
    if (dto.dry_run) {
      // A dry run answers what a launch would do, so it applies the same limit; it never writes.
      const versionId = experiment.config.dataset ? experiment.datasetVersionId : null;
      const planned = this.checkLimit(experiment.config, limit, await this.itemCount(versionId));
      const estimated = await this.projectEstimate(experiment.projectId, experiment.config, versionId);
      return {
        runs_planned: planned,
        runs_created: 0,
        estimated_cost: estimated,
        budget_usd: experiment.budgetUsd,
        fits_budget: experiment.budgetUsd === null || estimated === null ? null : estimated <= experiment.budgetUsd,
      };
    }

    const started = Date.now();
    const inserted = await this.dataSource.transaction((em) => this.insertRuns(em, experiment, limit));
    this.logger.log(`experiment ${id} launched: ${inserted.planned} runs inserted in ${Date.now() - started} ms`);
    await this.publishStatus(id, ExperimentStatus.Running, []);
    this.dispatchInBackground(inserted.runIds, `experiment ${id}`);
    return {
      runs_planned: inserted.planned,
      runs_created: inserted.runIds.length,
      estimated_cost: inserted.estimated,
    };
  }

  /**
   * The status change and every run in one transaction. The conditional UPDATE is the guard
   * against concurrent launches (only one can move draft → running) and returns the config as
   * of that instant, so a PATCH racing the launch cannot make runs from a stale config.
   */
  private async insertRuns(em: EntityManager, experiment: Experiment, limit: number): Promise<Inserted> {
    const { rows } = await runSql<{ config: ExperimentConfig; dataset_version_id: string | null }>(
      em,
      `UPDATE experiments SET status = 'running', launched_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'draft' RETURNING config, dataset_version_id`,
      [experiment.id],
    );
    if (rows.length === 0) {
      const current = await runSql<{ status: ExperimentStatus }>(em, `SELECT status FROM experiments WHERE id = $1`, [
        experiment.id,
      ]);
      if (current.rows.length === 0) throw notFound(EXPERIMENT_NOT_FOUND);
      throw this.alreadyLaunched(current.rows[0].status);
    }
    const config = rows[0].config;
    const versionId = config.dataset ? rows[0].dataset_version_id : null;
    const planned = this.checkLimit(config, limit, await this.itemCount(versionId));
    const runIds: string[] = [];
    const ids = new RunIdGenerator();
    const plan = planGrid(config);
    const parts = planParts(plan);
    const partsJson = JSON.stringify(parts);
    // One INSERT in flight while the next batch is built: PostgreSQL and Node work side by side.
    let inFlight: Promise<unknown> = Promise.resolve();
    let batch = new BatchColumns();
    const flush = async (items: GridItem[]) => {
      const full = batch;
      batch = new BatchColumns();
      const payload = full.toLaunchBatch(partsJson, versionId, parts.useCache, items);
      await inFlight;
      inFlight = this.runs.insertBatch(em, experiment.id, experiment.projectId, payload);
      inFlight.catch(() => undefined); // awaited at the next flush; never an unhandled rejection meanwhile
    };
    let estimated: number | null = 0;
    // Inline inputs are one batch of items; dataset runs name their items by key, so an insert
    // batch may span item batches.
    let items: GridItem[] = [];
    for await (items of this.items(config, versionId)) {
      for (const cell of planCellRefs(plan, items)) {
        const id = ids.next();
        runIds.push(id);
        batch.push(id, cell, items[cell.item].item_key);
        if (batch.size >= this.insertBatchSize) await flush(items);
      }
      estimated = addCost(estimated, this.estimate(config, items));
    }
    if (batch.size > 0) await flush(items);
    await inFlight;
    await appendExperimentEvent(this.outbox, em, experiment.projectId, experiment.id, 'experiment.launched');
    return { runIds, planned, estimated: roundCost(estimated) };
  }

  /** The grid's input rows batch by batch: the inline inputs at once, a dataset version streamed. */
  private async *items(config: ExperimentConfig, versionId: string | null): AsyncGenerator<GridItem[]> {
    if (!config.dataset) {
      yield inlineItems(config);
      return;
    }
    if (versionId === null) throw notFound('Dataset version not found');
    yield* this.datasets.itemBatches(versionId, ITEM_BATCH_SIZE);
  }

  /** The pinned version's item count (a dataset config); undefined for inline inputs. */
  private async itemCount(versionId: string | null): Promise<number | undefined> {
    if (versionId === null) return undefined;
    const pinned = await this.datasets.pinnedVersion(versionId);
    if (!pinned) throw notFound('Dataset version not found');
    return pinned.itemCount;
  }

  /**
   * Pending runs → cancelled at once; running ones → cancelled too, and the executor, which
   * checks between stages, writes nothing more for them. Runs first, experiment second: the
   * same lock order as the executor's "last run ended → experiment completed".
   */
  async cancel(principal: Principal, id: string): Promise<CancelResultDto> {
    const experiment = await this.experiments.findAccessible(principal, id, ProjectRole.Editor);
    if (experiment.status === ExperimentStatus.Draft)
      throw conflict('Experiment has not been launched: there is nothing to cancel', ErrorCode.ExperimentNotLaunched);
    if (experiment.status === ExperimentStatus.Completed)
      throw conflict('Experiment already completed: there is nothing to cancel', ErrorCode.ExperimentAlreadyCompleted);
    const cancelled = await this.dataSource.transaction(async (em) => {
      const runIds = await this.runs.cancelExperiment(em, id);
      const ended = await runSql(
        em,
        `UPDATE experiments SET status = 'cancelled', completed_at = COALESCE(completed_at, now()), updated_at = now()
          WHERE id = $1 AND status = 'running'`,
        [id],
      );
      if (ended.count === 0) {
        // Cancelled already (or meanwhile): idempotent, as before.
        await runSql(
          em,
          `UPDATE experiments SET completed_at = COALESCE(completed_at, now()), updated_at = now()
            WHERE id = $1 AND status = 'cancelled'`,
          [id],
        );
      }
      if (ended.count > 0) {
        await appendExperimentEvent(this.outbox, em, experiment.projectId, id, 'experiment.cancelled', {
          stop_reason: 'cancelled' satisfies StopReason,
        });
      }
      return runIds;
    });
    this.logger.log(`experiment ${id} cancelled: ${cancelled.length} runs`);
    await this.publishStatus(
      id,
      ExperimentStatus.Cancelled,
      cancelled.map((runId) => ({ run_id: runId, status: RunStatus.Cancelled })),
    );
    return { runs_cancelled: cancelled.length };
  }

  /**
   * Failed runs → pending with attempt + 1 (the queue job id carries the attempt, so the job is
   * new), their error, results and partial stage results cleared; the experiment runs again.
   */
  async retryFailed(principal: Principal, id: string): Promise<RetryFailedResultDto> {
    const experiment = await this.experiments.findAccessible(principal, id, ProjectRole.Editor);
    if (experiment.status === ExperimentStatus.Draft)
      throw conflict('Experiment has not been launched: there is nothing to retry', ErrorCode.ExperimentNotLaunched);
    const runIds = await this.dataSource.transaction(async (em) => {
      const requeued = await this.runs.retryFailed(em, id);
      if (requeued.length > 0) {
        await runSql(
          em,
          `UPDATE experiments SET status = 'running', completed_at = NULL, updated_at = now() WHERE id = $1`,
          [id],
        );
      }
      return requeued;
    });
    if (runIds.length > 0) {
      await this.publishStatus(
        id,
        ExperimentStatus.Running,
        runIds.map((runId) => ({ run_id: runId, status: RunStatus.Pending })),
      );
    }
    this.dispatchInBackground(runIds, `experiment ${id} retry`);
    return { runs_requeued: runIds.length };
  }

  /** Resolves when every dispatch started so far has finished (shutdown, benchmarks). */
  async whenDispatched(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  /** Lets the dispatches of answered requests finish before the dispatcher and the database close. */
  async onModuleDestroy(): Promise<void> {
    await this.whenDispatched();
  }

  /**
   * Hands committed runs to the dispatcher after the answer: the runs are durable and pending from
   * the commit on, and enqueueing 10,000 Bull jobs takes longer than the insert itself (about a
   * second here), so the 202 does not wait for it.
   */
  private dispatchInBackground(runIds: string[], what: string): void {
    if (runIds.length === 0) return;
    const task: Promise<void> = this.dispatch(runIds, what).finally(() => this.background.delete(task));
    this.background.add(task);
  }

  /**
   * In chunks, each awaited. A failure does not undo the launch: the runs are committed and
   * pending, and the execution sweeper re-enqueues pending runs that have no job.
   */
  private async dispatch(runIds: string[], what: string): Promise<void> {
    for (let i = 0; i < runIds.length; i += this.dispatchChunkSize) {
      try {
        await this.dispatcher.dispatch(runIds.slice(i, i + this.dispatchChunkSize));
      } catch (error) {
        this.logger.warn(
          `${what}: dispatching ${runIds.length - i} runs failed, the sweeper will re-enqueue them: ${(error as Error).message}`,
        );
        return;
      }
    }
  }

  /**
   * Tells live streams (SSE) what changed here rather than in the executor: the runs' new
   * states, the progress, then the experiment's status (which ends the streams when cancelled).
   */
  private async publishStatus(
    id: string,
    status: ExperimentStatus,
    runs: Array<{ run_id: string; status: RunStatus }>,
  ): Promise<void> {
    const batch = 500;
    for (let i = 0; i < runs.length; i += batch) {
      await Promise.all(
        runs.slice(i, i + batch).map((r) => this.events.publish({ type: 'run.status', experiment_id: id, ...r })),
      );
    }
    const progress = await this.experiments.progress(id);
    await this.events.publish({ type: 'experiment.progress', experiment_id: id, progress });
    await this.events.publish({ type: 'experiment.status', experiment_id: id, status });
  }

  private checkLimit(config: ExperimentConfig, limit: number, itemCount: number | undefined): number {
    const planned = countGrid(config, itemCount);
    if (planned > limit) {
      throw invalid(
        `The grid has ${planned} runs, over the limit of ${limit} (raise max_runs, at most 1,000,000, or shrink the grid)`,
      );
    }
    return planned;
  }

  /** The grid's estimate priced in the project (connection prices first, then the price table). */
  private async projectEstimate(
    projectId: string,
    config: ExperimentConfig,
    versionId: string | null,
  ): Promise<number | null> {
    const models = await this.models.checker(projectId);
    let total: number | null = 0;
    for await (const items of this.items(config, versionId)) {
      total = addCost(
        total,
        estimateGridCost({ ...config, inputs: items.map((i) => i.data) }, (model, tokensIn, tokensOut) => {
          const price = models.price(model);
          return price ? (tokensIn * price.input + tokensOut * price.output) / 1e6 : null;
        }),
      );
      if (total === null) break;
    }
    return roundCost(total);
  }

  private estimate(config: ExperimentConfig, items: GridItem[]): number | null {
    return estimateGridCost({ ...config, inputs: items.map((i) => i.data) }, (model, tokensIn, tokensOut) =>
      this.prices.cost(model, tokensIn, tokensOut),
    );
  }

  private alreadyLaunched(status: ExperimentStatus) {
    return conflict(`Experiment already launched (status: ${status})`, ErrorCode.ExperimentAlreadyLaunched);
  }
}

/** The column arrays of one insert batch, filled cell by cell (no per-run config object). */
class BatchColumns {
  readonly ids: string[] = [];
  readonly hashes: string[] = [];
  readonly prompts: number[] = [];
  readonly models: number[] = [];
  readonly combos: number[] = [];
  readonly items: number[] = [];
  readonly repetitions: number[] = [];
  readonly itemKeys: Array<string | null> = [];

  get size(): number {
    return this.ids.length;
  }

  push(id: string, cell: CellRef, itemKey: string | null): void {
    this.ids.push(id);
    this.hashes.push(cell.configHash);
    this.prompts.push(cell.prompt);
    this.models.push(cell.model);
    this.combos.push(cell.combo);
    this.items.push(cell.item);
    this.repetitions.push(cell.repetition);
    this.itemKeys.push(itemKey);
  }

  /**
   * The batch for RunRepository.insertBatch. Dataset runs name their items by key (PostgreSQL
   * reads the data); inline runs carry only the inputs this batch uses, renumbered.
   */
  toLaunchBatch(parts: string, versionId: string | null, useCache: boolean, items: GridItem[]): LaunchBatch {
    let inputs: string | null = null;
    let indexes = this.items;
    if (versionId === null) {
      const local = new Map<number, number>();
      const used: unknown[] = [];
      indexes = this.items.map((i) => {
        let at = local.get(i);
        if (at === undefined) {
          at = used.length;
          local.set(i, at);
          used.push(items[i].data);
        }
        return at;
      });
      inputs = JSON.stringify(used);
    }
    return {
      parts,
      inputs,
      datasetVersionId: versionId,
      useCache,
      ids: this.ids,
      hashes: this.hashes,
      prompts: this.prompts,
      models: this.models,
      combos: this.combos,
      items: indexes,
      repetitions: this.repetitions,
      itemKeys: this.itemKeys,
    };
  }
}

/** Sums batch estimates; unknown (null) stays unknown. */
function addCost(total: number | null, more: number | null): number | null {
  return total === null || more === null ? null : total + more;
}

const roundCost = (total: number | null): number | null => (total === null ? null : Math.round(total * 1e10) / 1e10);
