import { type Score } from '../scoring/score.entity';
import { type HumanScoreResponseDto } from './dto/score-run.dto';
import {
  type RunDetailResponseDto,
  type RunResponseDto,
  type ScoreResponseDto,
  type StageResultResponseDto,
} from './dto/run.response.dto';
import { type Run } from '../runs/run.entity';
import { type RunConfig, type RunPromptVersion } from '../domain/configs';
import { type RunStatus } from '../domain/statuses';
import { type StageResult } from '../runs/stage-result.entity';

const iso = (value: Date | null | undefined): string | null => (value ? value.toISOString() : null);
/** pg answers `numeric` as a string (exact); the API speaks JSON numbers. */
const num = (value: string | number | null | undefined): number | null =>
  value === null || value === undefined ? null : Number(value);

/** The runs columns of a raw row (snake_case, as pg returns them). */
export interface RunRow {
  id: string;
  experiment_id: string;
  config_hash: string;
  config: RunConfig;
  status: RunStatus;
  started_at: Date | null;
  completed_at: Date | null;
  duration_ms: number | null;
  queue_ms: number | null;
  attempts: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  cost_estimate: string | number | null;
  cache_hit: boolean;
  error: string | null;
  dataset_item_key?: string | null;
  prompt_version?: RunPromptVersion | null;
}

/** Columns of `runs r` that make a RunRow; used by raw SQL so both paths map identically. */
export const RUN_ROW_COLUMNS = `r.id, r.experiment_id, r.config_hash, r.config, r.status, r.started_at, r.completed_at,
  r.duration_ms, r.queue_ms, r.attempts, r.tokens_in, r.tokens_out, r.cost_estimate, r.cache_hit, r.error,
  r.dataset_item_key, r.prompt_version`;

export function runRowToResponse(row: RunRow): RunResponseDto {
  return {
    id: row.id,
    experiment_id: row.experiment_id,
    config_hash: row.config_hash,
    config: row.config,
    status: row.status,
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    duration_ms: row.duration_ms ?? null,
    queue_ms: row.queue_ms ?? null,
    attempts: row.attempts ?? null,
    tokens_in: row.tokens_in ?? null,
    tokens_out: row.tokens_out ?? null,
    cost_estimate: num(row.cost_estimate),
    cache_hit: row.cache_hit ?? false,
    error: row.error ?? null,
    dataset_item_key: row.dataset_item_key ?? null,
    prompt_version: row.prompt_version ?? null,
  };
}

export function runToResponse(run: Run): RunResponseDto {
  return runRowToResponse({
    id: run.id,
    experiment_id: run.experimentId,
    config_hash: run.configHash,
    config: run.config,
    status: run.status,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    duration_ms: run.durationMs,
    queue_ms: run.queueMs,
    attempts: run.attempts,
    tokens_in: run.tokensIn,
    tokens_out: run.tokensOut,
    cost_estimate: run.costEstimate,
    cache_hit: run.cacheHit,
    error: run.error,
    dataset_item_key: run.datasetItemKey,
    prompt_version: run.promptVersion,
  });
}

export function stageResultToResponse(stage: StageResult): StageResultResponseDto {
  return {
    id: stage.id,
    run_id: stage.runId,
    stage_name: stage.stageName,
    stage_index: stage.stageIndex,
    prompt: stage.prompt,
    output: stage.output,
    model: stage.model,
    tokens_in: stage.tokensIn,
    tokens_out: stage.tokensOut,
    duration_ms: stage.durationMs,
    error: stage.error,
    tool_calls: stage.toolCalls ?? null,
    finish_reason: stage.finishReason ?? null,
    created_at: stage.createdAt.toISOString(),
  };
}

export function humanScoreToResponse(score: Score): HumanScoreResponseDto {
  return {
    id: score.id,
    run_id: score.runId,
    scorer_name: score.scorerName,
    value: score.value,
    scorer_metadata: score.scorerMetadata,
    created_at: score.createdAt.toISOString(),
  };
}

export function scoreToResponse(score: Score): ScoreResponseDto {
  const { id, run_id, scorer_name, value, scorer_metadata, created_at } = humanScoreToResponse(score);
  return { id, run_id, scorer_name, value, scorer_metadata, source: score.source, created_at };
}

export function runToDetailResponse(run: Run, stages: StageResult[], scores: Score[]): RunDetailResponseDto {
  const detail: RunDetailResponseDto = {
    ...runToResponse(run),
    stage_results: stages.map(stageResultToResponse),
    scores: scores.map(scoreToResponse),
  };
  if (run.scoringErrors && Object.keys(run.scoringErrors).length > 0) detail.scoring_errors = run.scoringErrors;
  return detail;
}
