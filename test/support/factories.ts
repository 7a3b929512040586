import { randomBytes } from 'crypto';
import request from 'supertest';
import { type DataSource } from 'typeorm';
import { computeConfigHash } from '../../src/domain/canonical-json';
import { type RunConfig, type ScoringConfig } from '../../src/domain/configs';
import { ExperimentStatus, RunStatus } from '../../src/domain/statuses';
import { type StageRecord } from '../../src/runs/run.repository';
import { waitFor } from './wait';

/*
 * The one factories module of the tests:
 * - API factories (registerUser, addMember, createApiKey): users, projects and keys through the HTTP API;
 * - DB factories (insertProject, insertExperiment, insertRuns, insertRun, insertStageResult, insertScore):
 *   rows straight into PostgreSQL, for suites that exercise classes or execution without the HTTP API,
 *   and for states no API call produces (an expired lease, a run completed but never scored);
 * - row readers (runRow, stageRows, scoreRows, experimentRow, experimentStatus, runIn).
 */

type Http = Parameters<typeof request>[0];

export interface TestUser {
  id: string;
  email: string;
  password: string;
  token: string;
  projectId: string;
}

let counter = 0;
export const uniqueEmail = (tag = 'user'): string =>
  `${tag}-${Date.now()}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;

/** Registers and logs in a user through the API; their personal project is `projectId`. */
export async function registerUser(
  http: Http,
  overrides: { email?: string; password?: string; name?: string } = {},
): Promise<TestUser> {
  const email = overrides.email ?? uniqueEmail();
  const password = overrides.password ?? 'password-123';
  const reg = await request(http)
    .post('/api/auth/register')
    .send({ email, password, name: overrides.name ?? 'Test User' });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await request(http).post('/api/auth/login').send({ email, password });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return {
    id: reg.body.id,
    email: reg.body.email,
    password,
    token: login.body.access_token,
    projectId: reg.body.default_project_id,
  };
}

/** Adds `member` to `owner`'s project with a role. */
export async function addMember(
  http: Http,
  owner: TestUser,
  projectId: string,
  member: TestUser,
  role: 'owner' | 'editor' | 'viewer',
): Promise<void> {
  const res = await request(http)
    .post(`/api/projects/${projectId}/members`)
    .set('Authorization', `Bearer ${owner.token}`)
    .send({ email: member.email, role });
  if (res.status !== 201) throw new Error(`add member failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Creates a project API key (owner only) and returns its secret. */
export async function createApiKey(
  http: Http,
  owner: TestUser,
  projectId: string,
  name = 'test-key',
): Promise<{ id: string; key: string }> {
  const res = await request(http)
    .post(`/api/projects/${projectId}/api-keys`)
    .set('Authorization', `Bearer ${owner.token}`)
    .send({ name });
  if (res.status !== 201) throw new Error(`create key failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, key: res.body.key };
}

export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

// ---------------------------------------------------------------------------------------------
// DB factories

export async function insertProject(ds: DataSource, name = 'execution-test'): Promise<string> {
  const [row] = await ds.query(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [name]);
  return row.id;
}

export interface ExperimentSeed {
  /** Default running (launched now); a draft has no launched_at. */
  status?: ExperimentStatus;
  description?: string | null;
  scoringConfig?: ScoringConfig;
  /** The stored experiment config; default `{}` (runs inserted by hand carry their own config). */
  config?: object;
  name?: string;
  budgetUsd?: number;
}

export async function insertExperiment(ds: DataSource, projectId: string, seed: ExperimentSeed = {}): Promise<string> {
  const status = seed.status ?? ExperimentStatus.Running;
  const [row] = await ds.query(
    `INSERT INTO experiments (project_id, name, config, scoring_config, status, launched_at, budget_usd, description)
     VALUES ($1, $2, $3::jsonb, $4, $5, CASE WHEN $7::boolean THEN now() END, $6, $8) RETURNING id`,
    [
      projectId,
      seed.name ?? 'exp',
      JSON.stringify(seed.config ?? {}),
      seed.scoringConfig ? JSON.stringify(seed.scoringConfig) : null,
      status,
      seed.budgetUsd ?? null,
      status !== ExperimentStatus.Draft,
      seed.description ?? null,
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
  for (const config of configs) ids.push(await insertRun(ds, experimentId, projectId, { config }));
  return ids;
}

/** A run in any state; columns left out keep the defaults of a pending run as launch inserts it. */
export interface RunSeed {
  /** A fixed id (default: the database's). */
  id?: string;
  config?: RunConfig;
  /** Default: computeConfigHash(config), as launch stores it. */
  configHash?: string;
  /** Default: config.repetition, else 0. */
  repetition?: number;
  status?: RunStatus;
  attempt?: number;
  leaseExpiries?: number;
  leaseOwner?: string | null;
  /** Milliseconds from the database's now() (negative: already expired). */
  leaseExpiresInMs?: number | null;
  output?: string | null;
  error?: string | null;
  /** Milliseconds before the database's now(). */
  startedMsAgo?: number | null;
  completedMsAgo?: number | null;
  /** Absolute timestamps instead (fixtures with exact times); given, they win over the relative ones. */
  startedAt?: Date | null;
  completedAt?: Date | null;
  cacheHit?: boolean;
  /** When the run last changed (its dispatch, for a pending run); default now. */
  updatedMsAgo?: number;
  durationMs?: number | null;
  tokensIn?: number | null;
  tokensOut?: number | null;
  costEstimate?: number | null;
  scored?: boolean;
}

export async function insertRun(
  ds: DataSource,
  experimentId: string,
  projectId: string,
  seed: RunSeed = {},
): Promise<string> {
  const config = seed.config ?? { prompt: 'seeded', model: 'mock:echo' };
  const ms = (v: number | null | undefined) => (v === undefined || v === null ? null : v);
  /** An absolute time when one was given (null included), else now() minus the relative one. */
  const time = (absolute: Date | null | undefined, msAgo: number | null | undefined) =>
    absolute !== undefined
      ? { abs: true, at: absolute?.toISOString() ?? null, ago: null }
      : { abs: false, at: null, ago: ms(msAgo) };
  const started = time(seed.startedAt, seed.startedMsAgo);
  const completed = time(seed.completedAt, seed.completedMsAgo);
  const [row] = await ds.query(
    `INSERT INTO runs (id, experiment_id, project_id, config, config_hash, repetition, use_cache, status, attempt,
                       lease_expiries, lease_owner, lease_expires_at, output, error, started_at, completed_at,
                       duration_ms, tokens_in, tokens_out, cost_estimate, scored_at, updated_at, cache_hit)
     VALUES (coalesce($22::uuid, gen_random_uuid()), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
             now() + $11::int * interval '1 millisecond', $12, $13,
             CASE WHEN $24::boolean THEN $26::timestamptz ELSE now() - $14::int * interval '1 millisecond' END,
             CASE WHEN $25::boolean THEN $27::timestamptz ELSE now() - $15::int * interval '1 millisecond' END,
             $16, $17, $18, $19, CASE WHEN $20::boolean THEN now() END, now() - $21::int * interval '1 millisecond', $23)
     RETURNING id`,
    [
      experimentId,
      projectId,
      JSON.stringify(config),
      seed.configHash ?? computeConfigHash(config),
      seed.repetition ?? config.repetition ?? 0,
      config.cache ?? true,
      seed.status ?? RunStatus.Pending,
      seed.attempt ?? 0,
      seed.leaseExpiries ?? 0,
      seed.leaseOwner ?? null,
      ms(seed.leaseExpiresInMs),
      seed.output ?? null,
      seed.error ?? null,
      started.ago,
      completed.ago,
      seed.durationMs ?? null,
      seed.tokensIn ?? null,
      seed.tokensOut ?? null,
      seed.costEstimate ?? null,
      seed.scored ?? false,
      seed.updatedMsAgo ?? 0,
      seed.id ?? null,
      seed.cacheHit ?? false,
      started.abs,
      completed.abs,
      started.at,
      completed.at,
    ],
  );
  return row.id;
}

export interface StageResultSeed {
  stageName?: string;
  stageIndex?: number;
  prompt?: string;
  output?: string | null;
  model?: string;
  tokensIn?: number | null;
  tokensOut?: number | null;
  durationMs?: number | null;
  cost?: number | null;
  error?: string | null;
}

export async function insertStageResult(ds: DataSource, runId: string, seed: StageResultSeed = {}): Promise<string> {
  const [row] = await ds.query(
    `INSERT INTO stage_results (run_id, stage_name, stage_index, prompt, output, model, tokens_in, tokens_out, duration_ms, cost, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
    [
      runId,
      seed.stageName ?? 'main',
      seed.stageIndex ?? 0,
      seed.prompt ?? 'p',
      seed.output ?? null,
      seed.model ?? 'mock:echo',
      seed.tokensIn ?? null,
      seed.tokensOut ?? null,
      seed.durationMs ?? null,
      seed.cost ?? null,
      seed.error ?? null,
    ],
  );
  return row.id;
}

export interface ScoreSeed {
  /** A fixed id (default: the database's). */
  id?: string;
  scorerName: string;
  value: number;
  source?: 'auto' | 'human';
  metadata?: Record<string, unknown> | null;
  /** Default: the database's now(). */
  createdAt?: Date;
}

/** A score row as ScoringService writes it (the score read model is not refreshed: read scores, not leaderboards). */
export async function insertScore(ds: DataSource, runId: string, seed: ScoreSeed): Promise<string> {
  const [row] = await ds.query(
    `INSERT INTO scores (id, run_id, scorer_name, value, source, scorer_metadata, created_at)
     VALUES (coalesce($6::uuid, gen_random_uuid()), $1, $2, $3, $4, $5, coalesce($7::timestamptz, now())) RETURNING id`,
    [
      runId,
      seed.scorerName,
      seed.value,
      seed.source ?? 'auto',
      seed.metadata ? JSON.stringify(seed.metadata) : null,
      seed.id ?? null,
      seed.createdAt?.toISOString() ?? null,
    ],
  );
  return row.id;
}

// ---------------------------------------------------------------------------------------------
// Row readers

export interface RunRow {
  id: string;
  experiment_id: string;
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
  config_hash: string;
  cache_hit: boolean;
  cached_from_run_id: string | null;
  started_at: Date | null;
  completed_at: Date | null;
  updated_at: Date;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  scored_at: Date | null;
  scoring_errors: Record<string, string> | null;
}

export async function runRow(ds: DataSource, id: string): Promise<RunRow> {
  const [row] = await ds.query(`SELECT * FROM runs WHERE id = $1`, [id]);
  return row;
}

/** A stage_results row as the executor writes it (StageRecord), read back: numeric `cost` comes as text. */
export type StageRow = Omit<StageRecord, 'cost'> & { cost: string | null };

export async function stageRows(ds: DataSource, runId: string): Promise<StageRow[]> {
  return ds.query(`SELECT * FROM stage_results WHERE run_id = $1 ORDER BY stage_index`, [runId]);
}

export interface ScoreRow {
  id: string;
  scorer_name: string;
  value: number;
  source: 'auto' | 'human';
  scorer_metadata: Record<string, unknown> | null;
}

export async function scoreRows(ds: DataSource, runId: string): Promise<ScoreRow[]> {
  return ds.query(
    `SELECT id, scorer_name, value, source, scorer_metadata FROM scores WHERE run_id = $1 ORDER BY scorer_name, source, created_at`,
    [runId],
  );
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
