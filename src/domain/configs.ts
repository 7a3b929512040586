/** One stage of a multi-stage prompt (`config.stages[i]`). */
export interface StageConfig {
  name: string;
  prompt: string;
  model?: string;
  params?: Record<string, unknown>;
}

/** One grid cell: scalars only. `repetition` and `cache` are outside the config hash. */
export interface RunConfig {
  prompt: string;
  model: string;
  params?: Record<string, string | number | boolean | null>;
  input_data?: Record<string, unknown> | string;
  stages?: StageConfig[] | null;
  repetition?: number;
  cache?: boolean;
}

/** The experiment's grid (see API.md "Experiments"); kept as submitted. */
export interface ExperimentConfig {
  prompts: string[];
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
