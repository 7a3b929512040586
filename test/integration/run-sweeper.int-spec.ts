import { type DataSource } from 'typeorm';
import { RunStatus } from '../../src/domain/statuses';
import { MAX_RUN_REQUEUES } from '../../src/execution/execution.constants';
import { RunSweeper } from '../../src/execution/run-sweeper';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  experimentStatus,
  insertExperiment,
  insertProject,
  insertRun,
  type RunSeed,
  runRow,
  scoreRows,
} from '../support/factories';
import { createIntegrationModule, type IntegrationModule, truncateRunData } from '../support/integration-module';
import { waitFor } from '../support/wait';

const SWEEP_INTERVAL_MS = 60_000;
const LEASE_MS = 120_000;
/** Long enough ago that a sweep after the first takes it (a whole sweep interval, a whole lease). */
const LONG_AGO = 10 * LEASE_MS;

/** RunSweeper.sweepOnce() against PostgreSQL; the dispatcher only records what the sweeper hands out. */
describe('RunSweeper (integration)', () => {
  let database: TestDatabase;
  let m: IntegrationModule;
  let ds: DataSource;
  let sweeper: RunSweeper;
  let projectId: string;
  let experimentId: string;
  const seed = (s: RunSeed = {}) => insertRun(ds, experimentId, projectId, s);
  const expired: RunSeed = { status: RunStatus.Running, leaseOwner: 'dead-worker', leaseExpiresInMs: -1_000 };

  beforeAll(async () => {
    database = await createTestDatabase();
    m = await createIntegrationModule({
      database,
      env: { SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS), RUN_LEASE_MS: String(LEASE_MS) },
    });
    ds = m.dataSource;
    sweeper = m.get(RunSweeper);
    projectId = await insertProject(ds);
    // The first sweep takes everything from before start-up: there was nothing.
    expect(await sweeper.sweepOnce()).toEqual({
      expiredRequeued: 0,
      expiredFailed: 0,
      pendingChecked: 0,
      orphansRequeued: 0,
      unscoredScored: 0,
      reservationsReleased: 0,
    });
  });

  beforeEach(async () => {
    await truncateRunData(ds);
    m.dispatcher.reset();
    experimentId = await insertExperiment(ds, projectId);
  });

  afterAll(async () => {
    await m?.close();
    await database?.drop();
  });

  it('hands an expired lease out again and dispatches it; a live lease and a fresh pending run stay as they are', async () => {
    const dead = await seed({ ...expired, attempt: 3 });
    const live = await seed({ status: RunStatus.Running, leaseOwner: 'live-worker', leaseExpiresInMs: LEASE_MS });
    const fresh = await seed();

    const result = await sweeper.sweepOnce();
    expect(result).toEqual({
      expiredRequeued: 1,
      expiredFailed: 0,
      // The requeued run was just touched, the fresh one too: neither sat still for a sweep interval.
      pendingChecked: 0,
      orphansRequeued: 0,
      unscoredScored: 0,
      reservationsReleased: 0,
    });
    expect(m.dispatcher.calls).toEqual([[dead]]);
    expect(await runRow(ds, dead)).toMatchObject({
      status: 'pending',
      attempt: 4,
      lease_expiries: 1,
      lease_owner: null,
      lease_expires_at: null,
      error: null,
    });
    expect(await runRow(ds, live)).toMatchObject({ status: 'running', lease_owner: 'live-worker', attempt: 0 });
    expect(await runRow(ds, fresh)).toMatchObject({ status: 'pending', attempt: 0 });
    expect(await experimentStatus(ds, experimentId)).toBe('running');
  });

  it('fails a run whose lease expired once too often, dispatches nothing, and completes its experiment', async () => {
    const worn = await seed({ ...expired, leaseExpiries: MAX_RUN_REQUEUES });
    expect(await sweeper.sweepOnce()).toMatchObject({ expiredRequeued: 0, expiredFailed: 1 });
    expect(m.dispatcher.calls).toEqual([]);
    const row = await runRow(ds, worn);
    expect(row).toMatchObject({
      status: 'failed',
      lease_expiries: MAX_RUN_REQUEUES + 1,
      lease_owner: null,
      error: `Abandoned: its worker stopped without finishing it ${MAX_RUN_REQUEUES + 1} times (lease expired)`,
    });
    expect(row.completed_at).not.toBeNull();
    await waitFor(async () => (await experimentStatus(ds, experimentId)) === 'completed', {
      what: 'the experiment to complete',
    });
  });

  it('dispatches again the pending runs that sat still for a sweep interval without a live delivery (attempt + 1)', async () => {
    const orphan = await seed({ attempt: 2, updatedMsAgo: 2 * SWEEP_INTERVAL_MS });
    const delivered = await seed({ updatedMsAgo: 2 * SWEEP_INTERVAL_MS });
    const fresh = await seed();
    m.dispatcher.delivering.add(delivered);

    expect(await sweeper.sweepOnce()).toMatchObject({ pendingChecked: 2, orphansRequeued: 1, expiredRequeued: 0 });
    expect(m.dispatcher.calls).toEqual([[orphan]]);
    const o = await runRow(ds, orphan);
    expect(o).toMatchObject({ status: 'pending', attempt: 3, lease_expiries: 0 });
    expect(await runRow(ds, delivered)).toMatchObject({ status: 'pending', attempt: 0 });
    expect(await runRow(ds, fresh)).toMatchObject({ status: 'pending', attempt: 0 });
    // Its dispatch touched it: the next sweep leaves it to that delivery.
    expect(await sweeper.sweepOnce()).toMatchObject({ pendingChecked: 1, orphansRequeued: 0 });
    expect(m.dispatcher.calls).toEqual([[orphan]]);
  });

  it('scores a completed run left unscored for a whole lease, once per scorer; a recent one is left to its executor', async () => {
    const scored = await insertExperiment(ds, projectId, {
      scoringConfig: {
        scorers: [
          { name: 'has_done', type: 'contains', params: { value: 'done' } },
          { name: 'short', type: 'length', params: { max: 5 } },
        ],
      },
    });
    const completed = { status: RunStatus.Completed, output: 'all done here', durationMs: 5, costEstimate: 0 };
    const old = await insertRun(ds, scored, projectId, {
      ...completed,
      startedMsAgo: LONG_AGO,
      completedMsAgo: LONG_AGO,
    });
    const recent = await insertRun(ds, scored, projectId, { ...completed, startedMsAgo: 10, completedMsAgo: 0 });

    expect(await sweeper.sweepOnce()).toMatchObject({ unscoredScored: 1 });
    expect((await scoreRows(ds, old)).map((s) => [s.scorer_name, s.value, s.source])).toEqual([
      ['has_done', 1, 'auto'],
      ['short', 0, 'auto'],
    ]);
    expect((await runRow(ds, old)).scored_at).toBeInstanceOf(Date);
    expect(await scoreRows(ds, recent)).toEqual([]);
    expect((await runRow(ds, recent)).scored_at).toBeNull();

    expect(await sweeper.sweepOnce()).toMatchObject({ unscoredScored: 0 });
    expect(await scoreRows(ds, old)).toHaveLength(2);
  });

  it('releases the budget reservation of an expired lease before handing the run out again', async () => {
    const budgeted = await insertExperiment(ds, projectId, { budgetUsd: 10 });
    const dead = await insertRun(ds, budgeted, projectId, expired);
    const reserve = (runId: string, holder: string, amount: number) =>
      ds.query(
        `INSERT INTO spend_reservations (experiment_id, run_id, holder, kind, amount_usd, expires_at)
         VALUES ($1, $2, $3, 'run', $4, now() + interval '1 hour')`,
        [budgeted, runId, holder, amount],
      );
    const live = await insertRun(ds, budgeted, projectId, {
      status: RunStatus.Running,
      leaseOwner: 'live-worker',
      leaseExpiresInMs: LEASE_MS,
    });
    await reserve(dead, 'dead-worker', 1.5);
    await reserve(live, 'live-worker', 0.25);
    await ds.query(`UPDATE experiments SET spend_reserved_usd = 1.75 WHERE id = $1`, [budgeted]);

    expect(await sweeper.sweepOnce()).toMatchObject({ expiredRequeued: 1, reservationsReleased: 1 });
    const left = await ds.query(
      `SELECT run_id, holder, amount_usd::float8 AS amount FROM spend_reservations WHERE experiment_id = $1`,
      [budgeted],
    );
    expect(left).toEqual([{ run_id: live, holder: 'live-worker', amount: 0.25 }]);
    const [{ reserved }] = await ds.query(
      `SELECT spend_reserved_usd::float8 AS reserved FROM experiments WHERE id = $1`,
      [budgeted],
    );
    expect(reserved).toBe(0.25);
  });
});
