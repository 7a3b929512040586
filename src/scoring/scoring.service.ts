import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { GroupCommit } from '../common/group-commit';
import { Principal } from '../common/principal';
import { invalid, notFound } from '../common/domain-error';
import { ScorerConfig, ScoringConfig } from '../domain/configs';
import { RunStatus } from '../domain/statuses';
import { RunRepository } from '../runs/run.repository';
import { storedPromptMessages } from '../domain/prompt';
import { type ChatMessage, type ToolCall } from '../providers/llm.types';
import { ScoreReadModel } from './score-read-model';
import { Score, ScoreSource } from './score.entity';
import { ScoreContext, ScorerError } from './scorer';
import { MAX_SCORER_NAME_LENGTH, ScorerRegistry, ScorerTypeInfo } from './scorer-registry';
import {
  DELETE_AUTO_SCORES,
  DELETE_SCORES_OF_EXPERIMENT,
  INSERT_AUTO_SCORES,
  INSERT_HUMAN_SCORE,
  RunForScoringRow,
  SELECT_COMPLETED_RUNS_PAGE,
  SELECT_RUNS_FOR_SCORING,
  SELECT_SCORES_OF_RUNS,
} from './scoring.sql';

/** What one scoreRun wrote: the lead turns `written` into score events. */
export interface ScoreRunSummary {
  /** false when the run does not exist or is not completed (nothing was done). */
  scored: boolean;
  written: { id: string; scorerName: string; value: number }[];
  /** Scorer name → message, for the scorers that threw in this pass (also in runs.scoring_errors). */
  errors: Record<string, string>;
}

interface RunOutcome {
  runId: string;
  scores: { name: string; value: number; metadata: Record<string, unknown> }[];
  errors: Record<string, string>;
}

/** Runs of an experiment rescored per transaction; scorers of a batch run this many runs at a time. */
export const RESCORE_BATCH_SIZE = 200;
export const RESCORE_CONCURRENCY = 8;
const UUID_MIN = '00000000-0000-0000-0000-000000000000';
/** Group commit of scoreRun's statements: rows per statement, statements of a kind in flight. */
const BATCHING = { maxRows: 64, maxInFlight: 2 };

type RunToScore = RunForScoringRow & { scoring_config: ScoringConfig | null; scored: string[] };

type ScoreRow = {
  id: string;
  run_id: string;
  scorer_name: string;
  value: number;
  scorer_metadata: Record<string, unknown> | null;
  source: ScoreSource;
  created_at: Date;
};

function toScore(row: ScoreRow): Score {
  return Object.assign(new Score(), {
    id: row.id,
    runId: row.run_id,
    scorerName: row.scorer_name,
    value: row.value,
    scorerMetadata: row.scorer_metadata,
    source: row.source,
    createdAt: row.created_at,
  });
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping the order of results. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Scores runs with the scorers their experiment declares, and records human scores. Writes are
 * keyed by the run: automatic scores are inserted with ON CONFLICT DO NOTHING on the partial
 * unique index, so a duplicate delivery or a retry never writes a scorer twice.
 */
@Injectable()
export class ScoringService {
  private readonly logger = new Logger(ScoringService.name);
  /**
   * Runs scored close together share their read and their write (group commit): one SELECT and
   * one transaction for many runs. Scorers still run per run, so a slow judge delays only its own run.
   */
  private readonly reads = new GroupCommit<string, RunToScore | null>((ids) => this.readBatch(ids), BATCHING);
  private readonly writes = new GroupCommit<RunOutcome, ScoreRunSummary['written']>(
    (outcomes) => this.writeBatch(outcomes),
    BATCHING,
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: ScorerRegistry,
    private readonly readModel: ScoreReadModel,
    private readonly runs: RunRepository,
  ) {}

  /** Every score of the experiment's runs (before its runs are deleted). */
  async deleteScoresOfExperiment(em: EntityManager, experimentId: string): Promise<void> {
    await em.query(DELETE_SCORES_OF_EXPERIMENT, [experimentId]);
  }

  /**
   * Every problem of a scoring_config (null = no scoring), each naming its scorer; judge models
   * are judged by `validateModel` (the project's resolution: its connections, then the instance providers).
   */
  validateScoringConfig(cfg: unknown, validateModel: (model: string) => string | null): string[] {
    return this.registry.validateScoringConfig(cfg, { model: validateModel });
  }

  /** GET /api/scorers. */
  listScorerTypes(): ScorerTypeInfo[] {
    return this.registry.list();
  }

  /**
   * Scores a completed run with every declared scorer that has no automatic score yet (so a retry
   * re-tries only the scorers that failed). A scorer that throws writes no score; its message goes
   * to runs.scoring_errors, and the run is not failed. Scores and errors land in one transaction.
   */
  async scoreRun(runId: string): Promise<ScoreRunSummary> {
    const row = await this.reads.submit(runId);
    if (!row || row.status !== RunStatus.Completed) return { scored: false, written: [], errors: {} };
    const todo = this.declaredScorers(row.scoring_config).filter((s) => !row.scored.includes(s.name));
    if (todo.length === 0) {
      // Human scores given before the run completed start counting now that it has.
      await this.dataSource.transaction(async (em) => {
        await this.runs.markScored(em, runId);
        await this.readModel.refresh(em, [runId]);
      });
      return { scored: true, written: [], errors: {} };
    }
    const outcome = await this.computeScores(row, todo);
    const written = await this.writes.submit(outcome);
    return { scored: true, written, errors: outcome.errors };
  }

  /** The runs of one read batch, each with its experiment's scoring_config and its scored scorers. */
  private async readBatch(runIds: string[]): Promise<(RunToScore | null)[]> {
    const rows: RunToScore[] = await this.dataSource.query(SELECT_RUNS_FOR_SCORING, [runIds]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return runIds.map((id) => byId.get(id) ?? null);
  }

  /** The outcomes of one write batch in one transaction; what each outcome wrote, in order. */
  private async writeBatch(outcomes: RunOutcome[]): Promise<ScoreRunSummary['written'][]> {
    const written = await this.dataSource.transaction((em) => this.writeOutcomes(em, outcomes));
    // A score row was written for one caller only: two deliveries of a run in one batch share nothing.
    const unclaimed = new Map(written.map((w) => [`${w.runId}:${w.scorerName}`, w]));
    return outcomes.map((o) =>
      o.scores.flatMap((score) => {
        const key = `${o.runId}:${score.name}`;
        const w = unclaimed.get(key);
        if (!w) return [];
        unclaimed.delete(key);
        return [{ id: w.id, scorerName: w.scorerName, value: w.value }];
      }),
    );
  }

  /**
   * Recomputes the automatic scores of the experiment's completed runs with its current
   * scoring_config, a batch of runs per transaction (delete automatic scores, insert the new ones,
   * replace scoring_errors); human scores stay. Memory stays bounded by the batch size.
   */
  async rescoreExperiment(experimentId: string): Promise<{ runs_rescored: number }> {
    const experiments: { scoring_config: ScoringConfig | null }[] = await this.dataSource.query(
      'SELECT scoring_config FROM experiments WHERE id = $1',
      [experimentId],
    );
    if (experiments.length === 0) throw notFound('Experiment not found');
    const scorers = this.declaredScorers(experiments[0].scoring_config);
    let after = UUID_MIN;
    let total = 0;
    for (;;) {
      const runs: RunForScoringRow[] = await this.dataSource.query(SELECT_COMPLETED_RUNS_PAGE, [
        experimentId,
        after,
        RESCORE_BATCH_SIZE,
      ]);
      if (runs.length === 0) break;
      const outcomes = await mapLimit(runs, RESCORE_CONCURRENCY, (run) => this.computeScores(run, scorers));
      await this.dataSource.transaction(async (em) => {
        await em.query(DELETE_AUTO_SCORES, [runs.map((r) => r.id)]);
        await this.writeOutcomes(em, outcomes);
      });
      total += runs.length;
      after = runs[runs.length - 1].id;
      if (runs.length < RESCORE_BATCH_SIZE) break;
    }
    this.logger.log(`experiment ${experimentId}: rescored ${total} run(s) with ${scorers.length} scorer(s)`);
    // The batches moved the read model run by run; a rebuild also brings in changed weights.
    await this.readModel.rebuild(experimentId);
    return { runs_rescored: total };
  }

  /**
   * The experiment's scoring_config changed: rebuild its read model in the background (rankings
   * stay exact meanwhile: they fall back to the set-based SQL while the stored weights differ).
   */
  scoringConfigChanged(experimentId: string): void {
    this.readModel.rebuild(experimentId).catch((error: unknown) => {
      this.logger.warn(
        `experiment ${experimentId}: score model rebuild failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }

  /**
   * A human score (source `human`; any number per run and scorer, the latest counts). The caller
   * has checked access; `scored_by` records who gave it.
   */
  async addHumanScore(
    runId: string,
    scorerName: string,
    value: number,
    metadata: Record<string, unknown> | null,
    principal: Principal,
  ): Promise<Score> {
    const problems: string[] = [];
    if (typeof scorerName !== 'string' || scorerName.trim() === '')
      problems.push('scorer_name must be a non-empty string');
    else if (scorerName.length > MAX_SCORER_NAME_LENGTH)
      problems.push(`scorer_name must be at most ${MAX_SCORER_NAME_LENGTH} characters`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1)
      problems.push('value must be a number between 0 and 1');
    if (problems.length > 0) throw invalid(problems);
    const scoredBy =
      principal.kind === 'user' ? { kind: 'user', id: principal.userId } : { kind: 'api_key', id: principal.apiKeyId };
    const rows: ScoreRow[] = await this.dataSource.transaction(async (em) => {
      const inserted: ScoreRow[] = await em.query(INSERT_HUMAN_SCORE, [
        runId,
        scorerName,
        value,
        JSON.stringify({ ...(metadata ?? {}), scored_by: scoredBy }),
      ]);
      if (inserted.length > 0) await this.readModel.refresh(em, [runId]);
      return inserted;
    });
    if (rows.length === 0) throw notFound('Run not found');
    return toScore(rows[0]);
  }

  /** Scores of the given runs, each run's oldest first (created_at, then id). */
  async listScores(runIds: string[]): Promise<Score[]> {
    if (runIds.length === 0) return [];
    const rows: ScoreRow[] = await this.dataSource.query(SELECT_SCORES_OF_RUNS, [runIds]);
    return rows.map(toScore);
  }

  /** Declared scorers, skipping malformed entries a config stored before validation could hold. */
  private declaredScorers(cfg: ScoringConfig | null): ScorerConfig[] {
    const scorers = Array.isArray(cfg?.scorers) ? cfg.scorers : [];
    return scorers.filter(
      (s): s is ScorerConfig => typeof s?.name === 'string' && s.name !== '' && typeof s.type === 'string',
    );
  }

  private async computeScores(run: RunForScoringRow, scorers: ScorerConfig[]): Promise<RunOutcome> {
    const base: Omit<ScoreContext, 'scorerName'> = {
      runId: run.id,
      projectId: run.project_id,
      experimentId: run.experiment_id,
      output: run.output ?? '',
      toolCalls: (run.tool_calls as ToolCall[] | null) ?? null,
      messages: lastStageMessages(run),
      inputData: run.config.input_data ?? '',
      run: {
        durationMs: run.duration_ms,
        costEstimate: run.cost_estimate,
        tokensIn: run.tokens_in,
        tokensOut: run.tokens_out,
        config: run.config,
      },
    };
    const outcome: RunOutcome = { runId: run.id, scores: [], errors: {} };
    const results = await Promise.allSettled(
      scorers.map((s) => this.registry.score({ ...base, scorerName: s.name }, s)),
    );
    results.forEach((result, i) => {
      const name = scorers[i].name;
      if (result.status === 'fulfilled') {
        outcome.scores.push({ name, value: result.value.value, metadata: result.value.metadata });
        return;
      }
      const err = result.reason as Error;
      outcome.errors[name] = err instanceof Error ? err.message : String(err);
      if (err instanceof ScorerError) this.logger.debug(`run ${run.id}: scorer "${name}" failed: ${err.message}`);
      else this.logger.warn(`run ${run.id}: scorer "${name}" threw: ${err?.message ?? err}`, err?.stack);
    });
    return outcome;
  }

  private async writeOutcomes(
    em: EntityManager,
    outcomes: RunOutcome[],
  ): Promise<(ScoreRunSummary['written'][number] & { runId: string })[]> {
    const scores = outcomes.flatMap((o) => o.scores.map((s) => ({ run_id: o.runId, ...s })));
    const written: { id: string; run_id: string; scorer_name: string; value: number }[] =
      scores.length > 0 ? await em.query(INSERT_AUTO_SCORES, [JSON.stringify(scores)]) : [];
    const errors = outcomes.map((o) => ({
      run_id: o.runId,
      errors: Object.keys(o.errors).length > 0 ? o.errors : null,
    }));
    await this.runs.recordScoring(em, JSON.stringify(errors));
    await this.readModel.refresh(
      em,
      outcomes.map((o) => o.runId),
    );
    return written.map((w) => ({ id: w.id, runId: w.run_id, scorerName: w.scorer_name, value: w.value }));
  }
}

/** The rendered messages of a run's last stage, from its stored prompt and the shape its template had. */
function lastStageMessages(run: RunForScoringRow): ChatMessage[] | null {
  if (run.last_prompt === null || run.last_prompt === undefined) return null;
  const stages = Array.isArray(run.config.stages) ? run.config.stages : [];
  const template = stages.length > 0 ? stages[stages.length - 1].prompt : run.config.prompt;
  return storedPromptMessages(template, run.last_prompt) as ChatMessage[] | null;
}
