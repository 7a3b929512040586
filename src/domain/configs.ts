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

/** The experiment's grid (see API.md "Experiments"); kept as submitted. */
export interface ExperimentConfig {
  prompts: Prompt[];
  models: string[];
  params?: Record<string, unknown>;
  inputs: Record<string, unknown>[];
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
