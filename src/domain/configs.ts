import { type Prompt } from './prompt';

/** One stage of a multi-stage prompt (`config.stages[i]`). */
export interface StageConfig {
  name: string;
  prompt: Prompt;
  model?: string;
  params?: Record<string, unknown>;
}

/**
 * One grid cell: one value per param (a scalar, or a structured field such as `tools` taken
 * literally). `repetition` and `cache` are outside the config hash.
 */
export interface RunConfig {
  prompt: Prompt;
  model: string;
  params?: Record<string, unknown>;
  input_data?: Record<string, unknown> | string;
  stages?: StageConfig[] | null;
  repetition?: number;
  cache?: boolean;
}

/** The registry prompt version a run used (`RunResponse.prompt_version`). */
export interface RunPromptVersion {
  prompt_id: string;
  name: string;
  version: number;
}

/**
 * A `{"ref": "name@label|version"}` prompt entry as stored: resolved when the experiment was
 * created (or its config patched), so a later label move never changes it.
 */
export interface ResolvedPromptEntry extends RunPromptVersion {
  ref: string;
  /** A string or `{messages}`: the run's prompt keeps this shape. */
  template: Prompt;
  /** The version's params: merged under the experiment's params. */
  params: Record<string, unknown>;
}

/** A prompt entry of an experiment: a template (string or messages) or a resolved registry reference. */
export type ExperimentPrompt = Prompt | ResolvedPromptEntry;

/** `config.dataset` as stored: the version is always pinned. */
export interface DatasetRef {
  id: string;
  version: number;
}

/** The experiment's grid (see API.md "Experiments"); kept as submitted, refs and dataset version resolved. */
export interface ExperimentConfig {
  prompts: ExperimentPrompt[];
  models: string[];
  params?: Record<string, unknown>;
  /** Exactly one of `inputs` and `dataset`. */
  inputs?: Record<string, unknown>[];
  dataset?: DatasetRef;
  stages?: StageConfig[] | null;
  repetitions?: number;
  cache?: boolean;
}

/** One declared scorer (`scoring_config.scorers[i]`). */
export interface ScorerConfig {
  name: string;
  type: string;
  params?: Record<string, unknown>;
}

export interface ScoringConfig {
  scorers?: ScorerConfig[];
  weights?: Record<string, number>;
}
