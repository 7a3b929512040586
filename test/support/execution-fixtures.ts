import { type DataSource } from 'typeorm';
import { ExperimentStatus } from '../../src/domain/statuses';
import { type ScoringConfig } from '../../src/domain/configs';
import { computeConfigHash } from '../../src/domain/canonical-json';
import { type RunConfig } from '../../src/domain/configs';
import { waitFor } from './wait';

/** Rows straight into PostgreSQL, for suites that exercise execution without the HTTP API. */

export async function insertProject(ds: DataSource, name = 'execution-test'): Promise<string> {
  const [row] = await ds.query(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [name]);
  return row.id;
}

export async function insertExperiment(
  ds: DataSource,
  projectId: string,
  options: { status?: ExperimentStatus; scoringConfig?: ScoringConfig } = {},
): Promise<string> {
  const [row] = await ds.query(
    `INSERT INTO experiments (project_id, name, config, scoring_config, status, launched_at) VALUES ($1, 'exp', '{}'::jsonb, $2, $3, now()) RETURNING id`,
    [
      projectId,
      options.scoringConfig ? JSON.stringify(options.scoringConfig) : null,
      options.status ?? ExperimentStatus.Running,
    ],
  );
  return row.id;
}

/** Pending runs as launch or POST /api/runs would insert them (hash, repetition, use_cache from the config). */
export async function insertRuns(
  ds: DataSource,
  experimentId: string,
  projectId: string,
  configs: RunConfig[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const config of configs) {
    const [row] = await ds.query(
      `INSERT INTO runs (experiment_id, project_id, config, config_hash, repetition, use_cache) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [
        experimentId,
        projectId,
        JSON.stringify(config),
        computeConfigHash(config),
        config.repetition ?? 0,
        config.cache ?? true,
      ],
    );
    ids.push(row.id);
  }
  return ids;
}

export interface RunRow {
  id: string;
  status: string;
  attempt: number;
  lease_expiries: number;
  output: string | null;
  error: string | null;
  tokens_in: number | null;
  tokens_out: number | null;
  cost_estimate: string | null;
  duration_ms: number | null;
  queue_ms: number | null;
  attempts: number | null;
  config: RunConfig;
  cache_hit: boolean;
  cached_from_run_id: string | null;
  started_at: Date | null;
  completed_at: Date | null;
  lease_owner: string | null;
  lease_expires_at: Date | null;
}

export async function runRow(ds: DataSource, id: string): Promise<RunRow> {
  const [row] = await ds.query(`SELECT * FROM runs WHERE id = $1`, [id]);
  return row;
}

export interface StageRow {
  stage_name: string;
  stage_index: number;
  prompt: string;
  output: string | null;
  model: string;
  tokens_in: number | null;
  tokens_out: number | null;
  duration_ms: number | null;
  cost: string | null;
  error: string | null;
}

export async function stageRows(ds: DataSource, runId: string): Promise<StageRow[]> {
  return ds.query(`SELECT * FROM stage_results WHERE run_id = $1 ORDER BY stage_index`, [runId]);
}

export async function experimentStatus(ds: DataSource, id: string): Promise<string> {
  const [row] = await ds.query(`SELECT status FROM experiments WHERE id = $1`, [id]);
  return row.status;
}

/** Resolves with the run row once it is in one of `statuses`. */
export async function runIn(ds: DataSource, id: string, statuses: string[], timeoutMs = 20_000): Promise<RunRow> {
  let last: RunRow | undefined;
  try {
    return await waitFor(
      async () => {
        last = await runRow(ds, id);
        return statuses.includes(last.status) ? last : null;
      },
      { timeoutMs },
    );
  } catch {
    throw new Error(
      `run ${id} still ${last?.status} after ${timeoutMs} ms (wanted ${statuses.join('|')}; error: ${last?.error})`,
    );
  }
}
