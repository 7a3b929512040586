import { type RunConfig } from '../domain/configs';
import { type RunStatus } from '../domain/statuses';

/**
 * Columns of a run that scorers read, with its last stage's tool calls and rendered prompt (read
 * only, by the unique (run_id, stage_index) index; stage_results are written by execution/).
 */
const RUN_FOR_SCORING = `
  r.id, r.project_id, r.experiment_id, r.status, r.output, r.config, r.duration_ms, r.tokens_in, r.tokens_out,
  r.cost_estimate::float8 AS cost_estimate, last_stage.tool_calls, last_stage.prompt AS last_prompt`;

/** The run's last stage (LEFT JOIN LATERAL: a run without stage rows keeps nulls). */
const LAST_STAGE = `
  LEFT JOIN LATERAL (
    SELECT sr.tool_calls, sr.prompt FROM stage_results sr WHERE sr.run_id = r.id ORDER BY sr.stage_index DESC LIMIT 1
  ) last_stage ON true`;

export interface RunForScoringRow {
  id: string;
  project_id: string;
  experiment_id: string;
  status: RunStatus;
  output: string | null;
  config: RunConfig;
  duration_ms: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  cost_estimate: number | null;
  tool_calls: Array<{ id: string; name: string; arguments: unknown }> | null;
  /** The last stage's rendered prompt as stored (a messages prompt: the JSON of its messages). */
  last_prompt: string | null;
}

/** Runs ($1: ids), each with its experiment's scoring_config and the scorers that already wrote their automatic score. */
export const SELECT_RUNS_FOR_SCORING = `
  SELECT ${RUN_FOR_SCORING}, e.scoring_config,
         ARRAY(SELECT s.scorer_name FROM scores s WHERE s.run_id = r.id AND s.source = 'auto') AS scored
    FROM runs r JOIN experiments e ON e.id = r.experiment_id ${LAST_STAGE}
   WHERE r.id = ANY($1::uuid[])`;

/** A keyset page of an experiment's completed runs (index idx_runs_experiment_status). */
export const SELECT_COMPLETED_RUNS_PAGE = `
  SELECT ${RUN_FOR_SCORING}
    FROM runs r ${LAST_STAGE}
   WHERE r.experiment_id = $1 AND r.status = 'completed' AND r.id > $2
   ORDER BY r.id
   LIMIT $3`;

/**
 * Automatic scores from one JSON array of {run_id, name, value, metadata}. The partial unique
 * index (run_id, scorer_name) WHERE source = 'auto' makes a repeated write a no-op.
 */
export const INSERT_AUTO_SCORES = `
  INSERT INTO scores (run_id, scorer_name, value, scorer_metadata, source)
  SELECT x.run_id, x.name, x.value, x.metadata, 'auto'
    FROM jsonb_to_recordset($1::jsonb) AS x(run_id uuid, name text, value float8, metadata jsonb)
  ON CONFLICT (run_id, scorer_name) WHERE source = 'auto' DO NOTHING
  RETURNING id, run_id, scorer_name, value`;

/** Every score of experiment $1's runs. */
export const DELETE_SCORES_OF_EXPERIMENT = `DELETE FROM scores s USING runs r WHERE s.run_id = r.id AND r.experiment_id = $1`;

export const DELETE_AUTO_SCORES = `DELETE FROM scores WHERE run_id = ANY($1::uuid[]) AND source = 'auto'`;

/** No row comes back when the run does not exist (checked here rather than by a failing foreign key). */
export const INSERT_HUMAN_SCORE = `
  INSERT INTO scores (run_id, scorer_name, value, scorer_metadata, source)
  SELECT r.id, $2, $3, $4::jsonb, 'human' FROM runs r WHERE r.id = $1
  RETURNING id, run_id, scorer_name, value, scorer_metadata, source, created_at`;

export const SELECT_SCORES_OF_RUNS = `
  SELECT id, run_id, scorer_name, value, scorer_metadata, source, created_at
    FROM scores WHERE run_id = ANY($1::uuid[])
   ORDER BY run_id, created_at, id`;
