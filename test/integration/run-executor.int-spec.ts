import { type DataSource } from 'typeorm';
import { type RunConfig } from '../../src/domain/configs';
import { RunStatus } from '../../src/domain/statuses';
import { PROCESS_LEASE_ID } from '../../src/execution/lease-owner';
import { RunExecutor } from '../../src/execution/run-executor';
import { RunRepository } from '../../src/runs/run.repository';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  experimentStatus,
  insertExperiment,
  insertProject,
  insertRun,
  insertStageResult,
  runRow,
  scoreRows,
  stageRows,
} from '../support/factories';
import { type FakeLlmServer, startFakeLlmServer } from '../support/fake-llm-server';
import { createIntegrationModule, type IntegrationModule, truncateRunData } from '../support/integration-module';
import { startAll } from '../support/start-all';
import { waitFor } from '../support/wait';

const OPENAI = 'openai:test-model';
/** 1 $ per million input tokens, 2 $ per million output tokens. */
const PRICES = JSON.stringify({ [OPENAI]: { input: 1, output: 2 } });

/** RunExecutor.execute() called directly (one delivery each) against PostgreSQL and the fake OpenAI server. */
describe('RunExecutor (integration)', () => {
  let database: TestDatabase;
  let fake: FakeLlmServer;
  let m: IntegrationModule;
  let ds: DataSource;
  let executor: RunExecutor;
  let projectId: string;
  let experimentId: string;
  const seed = (config: RunConfig) => insertRun(ds, experimentId, projectId, { config });

  beforeAll(async () => {
    await startAll([createTestDatabase().then((d) => (database = d)), startFakeLlmServer().then((f) => (fake = f))]);
    m = await createIntegrationModule({
      database,
      env: { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-test', MODEL_PRICES: PRICES, PROVIDER_MAX_ATTEMPTS: '2' },
    });
    ds = m.dataSource;
    executor = m.get(RunExecutor);
    projectId = await insertProject(ds);
  });

  beforeEach(async () => {
    fake.reset();
    await truncateRunData(ds);
    experimentId = await insertExperiment(ds, projectId, {
      scoringConfig: { scorers: [{ name: 'echoed', type: 'contains', params: { value: 'echo:' } }] },
    });
  });

  afterAll(async () => {
    await m?.close();
    await fake?.close();
    await database?.drop();
  });

  it('completes a pending run (row, stage, tokens, cost, scores, experiment), and skips a second delivery', async () => {
    const id = await seed({ prompt: 'hello {{n}}', model: OPENAI, input_data: { n: 1 } });
    const outcome = await executor.execute(id);
    expect(outcome).toMatchObject({ kind: 'completed', cacheHit: false });
    expect(fake.requests.map((r) => r.prompt)).toEqual(['hello 1']);
    const row = await runRow(ds, id);
    expect(row).toMatchObject({
      status: 'completed',
      output: 'echo: hello 1',
      tokens_in: 2,
      tokens_out: 3,
      attempts: 1,
      attempt: 0,
      error: null,
      cache_hit: false,
      lease_expires_at: null,
    });
    expect(row.lease_owner?.startsWith(`${PROCESS_LEASE_ID}#`)).toBe(true);
    expect(Number(row.cost_estimate)).toBeCloseTo(2e-6 + 6e-6, 12);
    expect(row.started_at!.getTime()).toBeLessThanOrEqual(row.completed_at!.getTime());
    expect((await stageRows(ds, id)).map((s) => [s.stage_name, s.prompt, s.output, s.model])).toEqual([
      ['main', 'hello 1', 'echo: hello 1', OPENAI],
    ]);
    // Scored and ended before execute() resolved.
    expect((await scoreRows(ds, id)).map((s) => [s.scorer_name, s.value, s.source])).toEqual([['echoed', 1, 'auto']]);
    expect((await runRow(ds, id)).scored_at).toBeInstanceOf(Date);
    expect(await experimentStatus(ds, experimentId)).toBe('completed');

    expect(await executor.execute(id)).toEqual({ kind: 'skipped' });
    expect(fake.requests).toHaveLength(1);
    expect((await runRow(ds, id)).completed_at).toEqual(row.completed_at);
  });

  it('holds a lease while the provider call is in flight', async () => {
    fake.enqueue({ delayMs: 400 });
    const id = await seed({ prompt: 'slow', model: OPENAI });
    const execution = executor.execute(id);
    const held = await waitFor(
      async () => {
        const r = await runRow(ds, id);
        return fake.requests.length === 1 && r.status === 'running' ? r : null;
      },
      { what: 'the run to be executing' },
    );
    expect(held.lease_owner?.startsWith(PROCESS_LEASE_ID)).toBe(true);
    expect(held.lease_expires_at!.getTime()).toBeGreaterThan(held.started_at!.getTime());
    expect(executor.inFlight).toBe(1);
    expect(await execution).toMatchObject({ kind: 'completed' });
    expect(executor.inFlight).toBe(0);
    expect(await runRow(ds, id)).toMatchObject({ status: 'completed', lease_owner: held.lease_owner });
  });

  it('writes nothing for a run cancelled while its first stage ran: abandoned at the stage boundary', async () => {
    fake.enqueue({ delayMs: 400 });
    const id = await seed({
      prompt: '',
      model: OPENAI,
      stages: [
        { name: 'first', prompt: 'first' },
        { name: 'second', prompt: 'then {{stages.first.output}}' },
      ],
    });
    const execution = executor.execute(id);
    await waitFor(() => fake.requests.length === 1, { what: 'the first stage call' });
    expect(await m.get(RunRepository).cancelOne(ds, id)).not.toBeNull();
    expect(await execution).toEqual({ kind: 'abandoned', status: RunStatus.Cancelled });
    expect(fake.requests).toHaveLength(1);
    expect(await runRow(ds, id)).toMatchObject({
      status: 'cancelled',
      output: null,
      lease_owner: null,
      lease_expires_at: null,
    });
    expect(await stageRows(ds, id)).toEqual([]);
  });

  it('fails at once on a permanent provider error, recording the failing stage', async () => {
    fake.enqueue({ status: 400 });
    const id = await seed({ prompt: 'bad', model: OPENAI });
    const outcome = await executor.execute(id);
    expect(outcome.kind).toBe('failed');
    const row = await runRow(ds, id);
    expect(row).toMatchObject({ status: 'failed', attempts: 1, output: null, lease_expires_at: null });
    expect(row.error).toMatch(/400/);
    expect(outcome).toEqual({ kind: 'failed', error: row.error });
    expect((await stageRows(ds, id)).map((s) => [s.stage_name, s.output, s.error])).toEqual([
      ['main', null, row.error],
    ]);
    expect(fake.requests).toHaveLength(1);
    expect(await scoreRows(ds, id)).toEqual([]);
    expect(await experimentStatus(ds, experimentId)).toBe('completed');
  });

  it('releases a run after retryable errors for another delivery, and fails it on the last delivery', async () => {
    fake.enqueue({ status: 500 }, { status: 500 });
    const id = await seed({ prompt: 'flaky', model: OPENAI });
    const first = await executor.execute(id);
    expect(first.kind).toBe('retry');
    expect(fake.requests).toHaveLength(2); // PROVIDER_MAX_ATTEMPTS
    const released = await runRow(ds, id);
    expect(released).toMatchObject({ status: 'pending', lease_owner: null, lease_expires_at: null, attempt: 0 });
    expect(released.started_at).not.toBeNull();
    expect(await stageRows(ds, id)).toEqual([]);
    expect(await experimentStatus(ds, experimentId)).toBe('running');

    fake.enqueue({ status: 500 }, { status: 500 });
    const last = await executor.execute(id, { finalAttempt: true });
    expect(last.kind).toBe('failed');
    expect(fake.requests).toHaveLength(4);
    const failed = await runRow(ds, id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 2 });
    expect(failed.error).toMatch(/500/);
    expect(failed.started_at).toEqual(released.started_at);
  });

  it('fails a run whose template names a missing variable without any provider call', async () => {
    const id = await seed({ prompt: 'Summarise {{ticket}}', model: OPENAI, input_data: {} });
    const outcome = await executor.execute(id);
    expect(outcome.kind).toBe('failed');
    expect(fake.requests).toHaveLength(0);
    const row = await runRow(ds, id);
    expect(row.status).toBe('failed');
    expect(row.error).toContain('"ticket"');
    expect(await stageRows(ds, id)).toEqual([]);
  });

  it('serves an identical completed config from the cache: no provider call, cost 0, stages copied', async () => {
    const config: RunConfig = { prompt: 'cached', model: OPENAI, input_data: {} };
    const source = await insertRun(ds, experimentId, projectId, {
      config,
      status: RunStatus.Completed,
      output: 'echo: cached',
      tokensIn: 1,
      tokensOut: 2,
      durationMs: 30,
      costEstimate: 0.01,
      startedMsAgo: 1_000,
      completedMsAgo: 500,
      scored: true,
    });
    await insertStageResult(ds, source, { prompt: 'cached', output: 'echo: cached', model: OPENAI, cost: 0.01 });
    const id = await seed(config);
    expect(await executor.execute(id)).toEqual({ kind: 'completed', cacheHit: true });
    expect(fake.requests).toHaveLength(0);
    const row = await runRow(ds, id);
    expect(row).toMatchObject({
      status: 'completed',
      output: 'echo: cached',
      cache_hit: true,
      cached_from_run_id: source,
      attempts: 0,
      duration_ms: 30,
    });
    expect(Number(row.cost_estimate)).toBe(0);
    expect((await stageRows(ds, id)).map((s) => [s.output, Number(s.cost)])).toEqual([['echo: cached', 0]]);
    expect((await scoreRows(ds, id)).map((s) => [s.scorer_name, s.value])).toEqual([['echoed', 1]]);
  });

  // Last: a shut-down executor takes no more runs.
  it('on shutdown gives an in-flight run back to pending and takes no more', async () => {
    fake.enqueue({ delayMs: 60_000 });
    const id = await seed({ prompt: 'interrupted', model: OPENAI });
    const execution = executor.execute(id);
    await waitFor(() => fake.requests.length === 1, { what: 'the provider call' });
    await executor.shutdown();
    expect(await execution).toEqual({ kind: 'retry', error: 'worker shutting down' });
    expect(await runRow(ds, id)).toMatchObject({ status: 'pending', lease_owner: null, lease_expires_at: null });
    const other = await seed({ prompt: 'later', model: OPENAI });
    expect(await executor.execute(other)).toEqual({ kind: 'retry', error: 'worker shutting down' });
    expect((await runRow(ds, other)).status).toBe('pending');
    expect(fake.requests).toHaveLength(1);
  });
});
