import { addLogFields, withLogFields } from '../common/log-context';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { RunEventsService } from '../events/run-events.service';
import { LlmClient } from '../providers/llm-client';
import { BUDGET_EXHAUSTED_ERROR, ExperimentBudgets } from '../experiments/experiment-budgets';
import { ProviderError } from '../providers/llm.types';
import { promptAsText } from '../domain/prompt';
import { BudgetExhaustedError } from '../providers/spend-ledger';
import { RunStatus } from '../domain/statuses';
import { ScoringService } from '../scoring/scoring.service';
import { ExperimentCompletionService } from '../experiments/experiment-completion.service';
import { nextLeaseOwner } from './lease-owner';
import { ClaimedRun, RunRepository, RunTotals, StageRecord } from '../runs/run.repository';
import { planStages, PlannedStage, renderStageMessages, StageAnswer, TemplateError } from './stage-plan';

export interface ExecuteOptions {
  /**
   * This is the last delivery the queue will make: a retryable failure then fails the run with its
   * reason instead of releasing it for another delivery.
   */
  finalAttempt?: boolean;
}

/** What one delivery of a run did. */
export type RunOutcome =
  /** Not claimed: the run was not pending (duplicate delivery, already finished, cancelled). Nothing written. */
  | { kind: 'skipped' }
  | { kind: 'completed'; cacheHit: boolean; stages?: StageRecord[] }
  /** Failed for good (permanent provider error, template error, or retries exhausted). */
  | { kind: 'failed'; error: string }
  /** Released to pending after a retryable failure (or a shutdown): deliver again later. */
  | { kind: 'retry'; error: string }
  /** Stopped without writing: cancelled meanwhile, or the lease passed to another worker. */
  | { kind: 'abandoned'; status: RunStatus | null };

/** Abort reasons of an execution's signal. */
class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}
class ShutdownError extends Error {
  override name = 'ShutdownError';
}

/** Where an execution got to, for the failure record. */
interface Progress {
  records: StageRecord[];
  current: { stage: PlannedStage; prompt: string } | null;
  /** Provider calls made so far, retries included. */
  attempts: number;
}

/**
 * Executes one run, exactly once in effect however often it is delivered: claim (a conditional
 * UPDATE with a lease), cache or stages through LlmClient, then one conditional statement that
 * writes the stage rows and the final state. Anything conditional that finds the run no longer
 * ours writes nothing.
 */
@Injectable()
export class RunExecutor implements OnModuleDestroy {
  private readonly logger = new Logger(RunExecutor.name);
  /** In-flight executions by lease owner: aborted on shutdown. */
  private readonly active = new Map<string, AbortController>();
  private shuttingDown = false;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly store: RunRepository,
    private readonly llm: LlmClient,
    private readonly completion: ExperimentCompletionService,
    private readonly events: RunEventsService,
    private readonly scoring: ScoringService,
    @InjectConfig() private readonly config: AppConfig,
    private readonly budgets: ExperimentBudgets,
  ) {}

  /** Executions in flight in this process. */
  get inFlight(): number {
    return this.active.size;
  }

  /**
   * Every log line written while a run executes carries its `run_id` and `experiment_id`, and no
   * `request_id`: an inline dispatcher may execute it in the async context of another run's request.
   */
  execute(runId: string, options: ExecuteOptions = {}): Promise<RunOutcome> {
    return withLogFields({ request_id: undefined, run_id: runId }, () => this.executeRun(runId, options));
  }

  private async executeRun(runId: string, options: ExecuteOptions): Promise<RunOutcome> {
    if (this.shuttingDown) return { kind: 'retry', error: 'worker shutting down' };
    const owner = nextLeaseOwner();
    const run = await this.store.claim(runId, owner, this.config.leaseMs);
    if (run) addLogFields({ experiment_id: run.experimentId });
    if (!run) {
      this.logger.debug(`run ${runId}: not pending, delivery ignored`);
      return { kind: 'skipped' };
    }
    const started = performance.now();
    const controller = new AbortController();
    this.active.set(owner, controller);
    const keeper = this.keepLease(run.id, owner, controller);
    const progress: Progress = { records: [], current: null, attempts: 0 };
    let outcome: RunOutcome;
    try {
      await this.events.publish({
        type: 'run.status',
        experiment_id: run.experimentId,
        run_id: run.id,
        status: RunStatus.Running,
        attempt: run.attempt,
      });
      this.completion.progressChanged(run.experimentId);
      outcome = await this.work(run, owner, controller.signal, progress);
    } catch (error) {
      outcome = await this.onError(run, owner, error, controller.signal, progress, options);
    } finally {
      clearInterval(keeper);
    }
    try {
      this.logger.debug(`run ${run.id} attempt ${run.attempt}: ${outcome.kind} in ${elapsed(started)} ms`);
      await this.after(run, outcome);
    } finally {
      // Shutdown waits for the follow-up writes too: the database closes right after.
      this.active.delete(owner);
      if (this.active.size === 0) this.drainWaiters.splice(0).forEach((resolve) => resolve());
    }
    return outcome;
  }

  /**
   * Stops taking runs, aborts the ones in flight (they go back to pending for another worker) and
   * waits until they have released their rows.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    if (this.active.size === 0) return;
    const drained = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    for (const controller of this.active.values()) controller.abort(new ShutdownError('worker shutting down'));
    await drained;
  }

  async onModuleDestroy(): Promise<void> {
    await this.shutdown();
  }

  private async work(run: ClaimedRun, owner: string, signal: AbortSignal, progress: Progress): Promise<RunOutcome> {
    if (run.cacheSourceId) {
      if (await this.store.completeFromCache(run.id, owner, run.cacheSourceId))
        return { kind: 'completed', cacheHit: true };
      // The source vanished between lookup and copy (its experiment deleted): execute for real, if still ours.
      if (!(await this.store.renew(run.id, owner, this.config.leaseMs))) return this.abandoned(run.id);
    }
    const stages = planStages(run.config);
    const answers = new Map<string, StageAnswer>();
    for (const stage of stages) {
      // Cooperative cancellation: between stages, re-check that the run is still ours (and extend the lease).
      if (stage.index > 0 && !(await this.store.renew(run.id, owner, this.config.leaseMs)))
        return this.abandoned(run.id);
      if (signal.aborted) throw signal.reason;
      const messages = renderStageMessages(stage.template, run.config.input_data, answers);
      const prompt = promptAsText(stage.template, messages);
      progress.current = { stage, prompt };
      const result = await this.llm.complete({
        model: stage.model,
        messages,
        params: stage.params,
        callKey: `${run.id}:${stage.index}`,
        signal,
        projectId: run.projectId,
        spend: { experimentId: run.experimentId, kind: 'run', runId: run.id, holder: owner },
      });
      progress.records.push({
        stage_name: stage.name,
        stage_index: stage.index,
        prompt,
        output: result.output,
        model: stage.model,
        tokens_in: result.tokensIn,
        tokens_out: result.tokensOut,
        // The provider's time for this answer: not slot waits, rate-limit waits or retry backoffs.
        duration_ms: result.callMs,
        cost: result.cost,
        error: null,
        tool_calls: result.toolCalls,
        finish_reason: result.finishReason,
      });
      progress.attempts += result.attempts;
      progress.current = null;
      answers.set(stage.name, { output: result.output, toolCalls: result.toolCalls });
    }
    const last = progress.records[progress.records.length - 1];
    const totals: RunTotals = { ...sumStages(progress), output: last.output };
    if (await this.store.complete(run.id, owner, totals, progress.records))
      return { kind: 'completed', cacheHit: false, stages: progress.records };
    return this.abandoned(run.id);
  }

  private async onError(
    run: ClaimedRun,
    owner: string,
    error: unknown,
    signal: AbortSignal,
    progress: Progress,
    options: ExecuteOptions,
  ): Promise<RunOutcome> {
    try {
      if (signal.aborted && signal.reason instanceof LeaseLostError) return await this.abandoned(run.id);
      if (signal.aborted && signal.reason instanceof ShutdownError) {
        await this.store.release(run.id, owner);
        return { kind: 'retry', error: 'worker shutting down' };
      }
      if (error instanceof BudgetExhaustedError) return await this.stopForBudget(run, owner, progress);
      const message = errorMessage(error);
      if (error instanceof ProviderError) progress.attempts += error.attempts ?? 0;
      const permanent = error instanceof TemplateError || (error instanceof ProviderError && !error.retryable);
      if (permanent || options.finalAttempt) {
        if (!permanent) this.logger.warn(`run ${run.id}: giving up after the last delivery: ${message}`);
        return await this.failRun(run, owner, message, progress);
      }
      if (!(error instanceof ProviderError))
        this.logger.warn(`run ${run.id}: unexpected error, released for another delivery: ${message}`);
      return (await this.store.release(run.id, owner))
        ? { kind: 'retry', error: message }
        : await this.abandoned(run.id);
    } catch (writeError) {
      // The database is unreachable: the lease expires and the sweeper hands the run out again.
      this.logger.error(`run ${run.id}: could not record "${errorMessage(error)}": ${errorMessage(writeError)}`);
      return { kind: 'retry', error: errorMessage(error) };
    }
  }

  private async failRun(run: ClaimedRun, owner: string, message: string, progress: Progress): Promise<RunOutcome> {
    const records = [...progress.records];
    if (progress.current) {
      const { stage, prompt } = progress.current;
      records.push({
        stage_name: stage.name,
        stage_index: stage.index,
        prompt,
        output: null,
        model: stage.model,
        tokens_in: null,
        tokens_out: null,
        duration_ms: null,
        cost: null,
        error: message,
        tool_calls: null,
        finish_reason: null,
      });
    }
    // Tokens and cost of the stages that did run are kept: that money was spent.
    const totals: RunTotals = { ...sumStages(progress), output: null };
    if (await this.store.fail(run.id, owner, message, totals, records)) return { kind: 'failed', error: message };
    return this.abandoned(run.id);
  }

  /** No provider call may start for this experiment: the run ends cancelled, and so do its pending siblings. */
  private async stopForBudget(run: ClaimedRun, owner: string, progress: Progress): Promise<RunOutcome> {
    const totals: RunTotals = { ...sumStages(progress), output: null };
    const cancelled = await this.store.cancel(run.id, owner, BUDGET_EXHAUSTED_ERROR, totals, progress.records);
    await this.budgets.stop(run.experimentId);
    if (cancelled) {
      await this.events.publish({
        type: 'run.status',
        experiment_id: run.experimentId,
        run_id: run.id,
        status: RunStatus.Cancelled,
        error: BUDGET_EXHAUSTED_ERROR,
      });
    }
    return { kind: 'abandoned', status: RunStatus.Cancelled };
  }

  private async abandoned(runId: string): Promise<RunOutcome> {
    const status = await this.store.status(runId).catch(() => null);
    this.logger.debug(`run ${runId}: no longer ours (status ${status}), nothing written`);
    return { kind: 'abandoned', status };
  }

  /** Events, experiment completion and scoring after a delivery; never throws. */
  private async after(run: ClaimedRun, outcome: RunOutcome): Promise<void> {
    const base = { experiment_id: run.experimentId, run_id: run.id };
    try {
      switch (outcome.kind) {
        case 'completed':
          await this.events.publish({
            type: 'run.status',
            ...base,
            status: RunStatus.Completed,
            cache_hit: outcome.cacheHit,
            // What each stage ended with (an executed run; a cache hit's are in its run detail).
            ...(outcome.stages
              ? {
                  stage_results: outcome.stages.map((s) => ({
                    stage_name: s.stage_name,
                    stage_index: s.stage_index,
                    finish_reason: s.finish_reason,
                    tool_calls: s.tool_calls,
                  })),
                }
              : {}),
          });
          await this.scoreAndAnnounce(run.id, run.experimentId);
          await this.completion.runsEnded([run.experimentId]);
          break;
        case 'failed':
          await this.events.publish({ type: 'run.status', ...base, status: RunStatus.Failed, error: outcome.error });
          await this.completion.runsEnded([run.experimentId]);
          break;
        case 'retry':
          await this.events.publish({ type: 'run.status', ...base, status: RunStatus.Pending, error: outcome.error });
          this.completion.progressChanged(run.experimentId);
          break;
        case 'abandoned':
          // Cancelled meanwhile: whoever cancelled reports it; the experiment may have nothing left to run.
          await this.completion.runsEnded([run.experimentId]);
          break;
        case 'skipped':
          break;
      }
    } catch (error) {
      this.logger.warn(`run ${run.id}: after ${outcome.kind}: ${errorMessage(error)}`);
    }
  }

  /** Automated scoring of a completed run, announced as `run.scored`; never throws. */
  async scoreAndAnnounce(runId: string, experimentId: string): Promise<void> {
    const run = { id: runId, experimentId };
    try {
      const summary = await this.scoring.scoreRun(run.id);
      if (summary.written.length === 0 && Object.keys(summary.errors).length === 0) return;
      await this.events.publish({
        type: 'run.scored',
        experiment_id: run.experimentId,
        run_id: run.id,
        scores: Object.fromEntries(summary.written.map((s) => [s.scorerName, s.value])),
        errors: summary.errors,
      });
    } catch (error) {
      // Scoring never fails a run; ScoringService records scorer errors itself.
      this.logger.warn(`run ${run.id}: scoring failed: ${errorMessage(error)}`);
    }
  }

  /** Renews the lease a few times per lease period; losing it aborts the execution (in-flight call included). */
  private keepLease(runId: string, owner: string, controller: AbortController): NodeJS.Timeout {
    let renewing = false;
    const timer = setInterval(
      () => {
        if (renewing || controller.signal.aborted) return;
        renewing = true;
        this.store
          .renew(runId, owner, this.config.leaseMs)
          .then((held) => {
            if (!held)
              controller.abort(new LeaseLostError(`run ${runId}: lease lost (cancelled or handed to another worker)`));
          })
          .catch((error: unknown) => this.logger.warn(`run ${runId}: lease renewal failed: ${errorMessage(error)}`))
          .finally(() => (renewing = false));
      },
      Math.max(100, Math.floor(this.config.leaseMs / 3)),
    );
    timer.unref();
    return timer;
  }
}

/**
 * The run's totals from its finished stages: tokens and cost (null when a stage lacks them), the
 * duration as the sum of the stages' provider time, and every provider call made (the failing
 * stage's included).
 */
function sumStages(progress: Progress): Omit<RunTotals, 'output'> {
  const records = progress.records;
  const attempts = progress.attempts;
  if (records.length === 0) return { tokensIn: null, tokensOut: null, cost: null, durationMs: null, attempts };
  const sum = (pick: (r: StageRecord) => number | null) =>
    records.reduce<number | null>((acc, r) => (acc === null || pick(r) === null ? null : acc + (pick(r) as number)), 0);
  return {
    tokensIn: sum((r) => r.tokens_in),
    tokensOut: sum((r) => r.tokens_out),
    cost: sum((r) => r.cost),
    durationMs: sum((r) => r.duration_ms),
    attempts,
  };
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
