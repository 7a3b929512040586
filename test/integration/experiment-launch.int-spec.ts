import { randomUUID } from 'crypto';
import { type DataSource } from 'typeorm';
import { DomainError, ErrorCode } from '../../src/common/domain-error';
import { type Principal } from '../../src/common/principal';
import { ExperimentStatus } from '../../src/domain/statuses';
import { ExperimentCompletionService } from '../../src/experiments/experiment-completion.service';
import { ExperimentLaunchService } from '../../src/experiments/experiment-launch.service';
import { ExperimentsModule } from '../../src/experiments/experiments.module';
import { ProjectsModule } from '../../src/projects/projects.module';
import { AuthModule } from '../../src/auth/auth.module';
import { RunRepository } from '../../src/runs/run.repository';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { insertExperiment, insertProject, type RunRow, runRow } from '../support/factories';
import { createIntegrationModule, type IntegrationModule, truncateRunData } from '../support/integration-module';

/** 2 prompts × 1 model × 2 temperatures × 3 inputs = 12 runs. */
const GRID = {
  prompts: ['A {{t}}', 'B {{t}}'],
  models: ['mock:echo'],
  params: { temperature: [0, 1] },
  inputs: [{ t: 'x' }, { t: 'y' }, { t: 'z' }],
};

interface ExperimentRow {
  status: string;
  launched_at: Date | null;
  completed_at: Date | null;
}

/** ExperimentLaunchService (launch, cancel, retry) against PostgreSQL; the dispatcher records the dispatches. */
describe('ExperimentLaunchService (integration)', () => {
  let database: TestDatabase;
  let m: IntegrationModule;
  let ds: DataSource;
  let launches: ExperimentLaunchService;
  let runs: RunRepository;
  let projectId: string;
  let principal: Principal;

  const draft = (config: Record<string, unknown> = GRID) =>
    insertExperiment(ds, projectId, { status: ExperimentStatus.Draft, config });
  const experimentRow = async (id: string): Promise<ExperimentRow> =>
    (await ds.query(`SELECT status, launched_at, completed_at FROM experiments WHERE id = $1`, [id]))[0];
  const runsOf = (experimentId: string): Promise<RunRow[]> =>
    ds.query(`SELECT * FROM runs WHERE experiment_id = $1 ORDER BY id`, [experimentId]);
  const failure = (promise: Promise<unknown>): Promise<DomainError> =>
    promise.then(
      () => {
        throw new Error('expected a DomainError');
      },
      (error: unknown) => {
        expect(error).toBeInstanceOf(DomainError);
        return error as DomainError;
      },
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    m = await createIntegrationModule({ database, imports: [AuthModule, ProjectsModule, ExperimentsModule] });
    ds = m.dataSource;
    launches = m.get(ExperimentLaunchService);
    runs = m.get(RunRepository);
    projectId = await insertProject(ds);
    principal = { kind: 'api_key', apiKeyId: randomUUID(), projectId };
  });

  beforeEach(async () => {
    await truncateRunData(ds);
    m.dispatcher.reset();
  });

  afterAll(async () => {
    await m?.close();
    await database?.drop();
  });

  it('launches a draft: every grid run pending, the experiment running, the runs dispatched after the commit', async () => {
    const id = await draft();
    const result = await launches.launch(principal, id, {});
    expect(result).toMatchObject({ runs_planned: 12, runs_created: 12 });

    const rows = await runsOf(id);
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((r) => `${r.status}/${r.attempt}/${r.lease_owner}/${String(r.started_at)}`))).toEqual(
      new Set(['pending/0/null/null']),
    );
    expect(new Set(rows.map((r) => r.config_hash)).size).toBe(12);
    const cells = rows
      .map(
        (r) =>
          `${r.config.prompt as string}|${String(r.config.params?.temperature)}|${(r.config.input_data as { t: string }).t}`,
      )
      .sort();
    expect(cells).toEqual(
      ['A {{t}}', 'B {{t}}']
        .flatMap((p) => ['0', '1'].flatMap((temp) => ['x', 'y', 'z'].map((t) => `${p}|${temp}|${t}`)))
        .sort(),
    );
    const experiment = await experimentRow(id);
    expect(experiment).toMatchObject({ status: 'running', completed_at: null });
    expect(experiment.launched_at).toBeInstanceOf(Date);

    await launches.whenDispatched();
    expect(m.dispatcher.dispatched().sort()).toEqual(rows.map((r) => r.id).sort());
  });

  it('refuses a second launch with EXPERIMENT_ALREADY_LAUNCHED and writes nothing', async () => {
    const id = await draft();
    await launches.launch(principal, id, {});
    await launches.whenDispatched();
    const calls = m.dispatcher.calls.length;
    const error = await failure(launches.launch(principal, id, {}));
    expect(error.code).toBe(ErrorCode.ExperimentAlreadyLaunched);
    expect(await runsOf(id)).toHaveLength(12);
    await launches.whenDispatched();
    expect(m.dispatcher.calls).toHaveLength(calls);
  });

  it('a dry run plans the grid and writes nothing', async () => {
    const id = await draft();
    const result = await launches.launch(principal, id, { dry_run: true });
    expect(result).toMatchObject({ runs_planned: 12, runs_created: 0, budget_usd: null, fits_budget: null });
    expect(await runsOf(id)).toEqual([]);
    expect(await experimentRow(id)).toMatchObject({ status: 'draft', launched_at: null });
    await launches.whenDispatched();
    expect(m.dispatcher.calls).toEqual([]);
  });

  it('refuses a grid over max_runs (INVALID, the limit named) and leaves the draft as it was', async () => {
    const id = await draft();
    const error = await failure(launches.launch(principal, id, { max_runs: 11 }));
    expect(error.code).toBe(ErrorCode.Invalid);
    expect(error.message).toContain('The grid has 12 runs, over the limit of 11');
    expect(await runsOf(id)).toEqual([]);
    expect((await experimentRow(id)).status).toBe('draft');
  });

  it('answers NOT_FOUND for an experiment of another project', async () => {
    const id = await draft();
    const stranger: Principal = { kind: 'api_key', apiKeyId: randomUUID(), projectId: await insertProject(ds) };
    expect((await failure(launches.launch(stranger, id, {}))).code).toBe(ErrorCode.NotFound);
    expect((await failure(launches.cancel(stranger, id))).code).toBe(ErrorCode.NotFound);
    expect(await runsOf(id)).toEqual([]);
  });

  it('cancel: pending and running runs end cancelled with their leases cleared, ended runs stay, the experiment is cancelled', async () => {
    const id = await draft();
    await launches.launch(principal, id, {});
    const [running, done, ...rest] = await runsOf(id);
    expect(await runs.claim(running.id, 'worker-a', 60_000)).not.toBeNull();
    expect(await runs.claim(done.id, 'worker-b', 60_000)).not.toBeNull();
    const totals = { output: 'ok', tokensIn: 1, tokensOut: 1, cost: 0, durationMs: 1, attempts: 1 };
    expect(await runs.complete(done.id, 'worker-b', totals, [])).toBe(true);

    expect(await launches.cancel(principal, id)).toEqual({ runs_cancelled: 11 });
    for (const r of [running, ...rest]) {
      const row = await runRow(ds, r.id);
      expect(row).toMatchObject({ status: 'cancelled', lease_owner: null, lease_expires_at: null });
      expect(row.completed_at).not.toBeNull();
    }
    expect(await runRow(ds, done.id)).toMatchObject({ status: 'completed', output: 'ok' });
    const experiment = await experimentRow(id);
    expect(experiment.status).toBe('cancelled');
    expect(experiment.completed_at).toBeInstanceOf(Date);
    // The executor that held a cancelled run writes nothing more.
    expect(await runs.complete(running.id, 'worker-a', totals, [])).toBe(false);
    // Idempotent; a draft has nothing to cancel.
    expect(await launches.cancel(principal, id)).toEqual({ runs_cancelled: 0 });
    expect((await experimentRow(id)).completed_at).toEqual(experiment.completed_at);
    expect((await failure(launches.cancel(principal, await draft()))).code).toBe(ErrorCode.ExperimentNotLaunched);
  });

  it('retryFailed: failed runs back to pending (attempt + 1, results cleared), the experiment running again, dispatched', async () => {
    const id = await draft({ prompts: ['p {{t}}'], models: ['mock:echo'], inputs: [{ t: 1 }, { t: 2 }] });
    await launches.launch(principal, id, {});
    await launches.whenDispatched();
    m.dispatcher.reset();
    const [failed, done] = await runsOf(id);
    const totals = { output: null, tokensIn: 1, tokensOut: 1, cost: 0, durationMs: 1, attempts: 1 };
    expect(await runs.claim(failed.id, 'w', 60_000)).not.toBeNull();
    expect(await runs.fail(failed.id, 'w', 'boom', totals, [])).toBe(true);
    expect(await runs.claim(done.id, 'w2', 60_000)).not.toBeNull();
    expect(await runs.complete(done.id, 'w2', { ...totals, output: 'ok' }, [])).toBe(true);
    await m.get(ExperimentCompletionService).runsEnded([id]);
    expect((await experimentRow(id)).status).toBe('completed');

    expect(await launches.retryFailed(principal, id)).toEqual({ runs_requeued: 1 });
    expect(await runRow(ds, failed.id)).toMatchObject({
      status: 'pending',
      attempt: 1,
      error: null,
      completed_at: null,
      lease_owner: null,
    });
    expect(await runRow(ds, done.id)).toMatchObject({ status: 'completed', attempt: 0 });
    expect(await experimentRow(id)).toMatchObject({ status: 'running', completed_at: null });
    await launches.whenDispatched();
    expect(m.dispatcher.dispatched()).toEqual([failed.id]);

    expect(await launches.retryFailed(principal, id)).toEqual({ runs_requeued: 0 });
    expect((await failure(launches.retryFailed(principal, await draft()))).code).toBe(ErrorCode.ExperimentNotLaunched);
  });
});
