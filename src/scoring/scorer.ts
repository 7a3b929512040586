import { type RunConfig } from '../domain/configs';
import { type ChatMessage, type ToolCall } from '../providers/llm.types';

/** What a scorer sees of one completed run. */
export interface ScoreContext {
  runId: string;
  /** Scope of the llm_judge cache: it never crosses projects, like the run cache. */
  projectId: string;
  /** Whose budget a judge call is charged to. */
  experimentId?: string;
  /** The declared scorer name (`scoring_config.scorers[i].name`). */
  scorerName: string;
  /** The run's final output ('' when the run produced none). */
  output: string;
  /** The tool calls of the run's last stage (null when it called none). */
  toolCalls: ToolCall[] | null;
  /** The rendered messages the run's last stage sent (absent/null when unknown, e.g. in unit tests). */
  messages?: ChatMessage[] | null;
  /** `config.input_data` of the run ('' when absent). */
  inputData: Record<string, unknown> | string;
  run: {
    durationMs: number | null;
    costEstimate: number | null;
    tokensIn: number | null;
    tokensOut: number | null;
    config: RunConfig;
  };
}

export interface ScorerResult {
  /** In [0, 1]. */
  value: number;
  /** Stored as `scorer_metadata`: the reason and details of the value. */
  metadata: Record<string, unknown>;
}

/** What validation knows beyond the params themselves. */
export interface ScorerChecks {
  /**
   * Null when a model id can run in the experiment's project (its connections, then the instance
   * providers), else why not. Absent at run time: the call itself resolves the model in the project.
   */
  model?: (model: string) => string | null;
}

/** A JSON Schema (draft 2020-12 subset understood by ajv) describing a scorer's `params`. */
export type JsonSchema = Record<string, unknown>;

/**
 * One scorer type. `params` reaching `score` have passed `paramsSchema` and `validate`, so a
 * scorer may rely on their shape; anything that still goes wrong at run time is a ScorerError.
 */
export interface Scorer<P = Record<string, unknown>> {
  /** The `type` used in `scoring_config.scorers[i].type`. */
  readonly type: string;
  readonly description: string;
  readonly paramsSchema: JsonSchema;
  /** A complete scorer declaration (`{name, type, params}`) that validates: shown by GET /api/scorers. */
  readonly example: { name: string; type: string; params: Record<string, unknown> };
  /**
   * Checks the schema cannot express (a regex that compiles, one of two fields…); messages name the
   * param. `checks.model` judges a model id in the experiment's project (absent: not checked here).
   */
  validate?(params: P, checks?: ScorerChecks): string[];
  score(ctx: ScoreContext, params: P): Promise<ScorerResult>;
}

/**
 * The scorer could not produce a value (missing input field, unknown cost, judge answer that
 * cannot be parsed…). Recorded in `runs.scoring_errors`; it never fails the run.
 */
export class ScorerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScorerError';
  }
}

/**
 * A `score` for a scorer that computes its value synchronously: what `fn` throws becomes a
 * rejected promise, as it would from an async function.
 */
export function synchronous<P>(fn: (ctx: ScoreContext, params: P) => ScorerResult): Scorer<P>['score'] {
  return (ctx, params) => new Promise((resolve) => resolve(fn(ctx, params)));
}
