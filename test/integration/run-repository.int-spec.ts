import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { typeOrmOptions } from '../../src/database/typeorm-options';
import { type RunConfig } from '../../src/domain/configs';
import { RunStatus } from '../../src/domain/statuses';
import { MAX_RUN_REQUEUES } from '../../src/execution/execution.constants';
import { type RunTotals, RunRepository, type StageRecord } from '../../src/runs/run.repository';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  insertExperiment,
  insertProject,
  insertRun,
  insertStageResult,
  type RunRow,
  runRow,
  type RunSeed,
  stageRows,
} from '../support/factories';
import { truncateRunData } from '../support/integration-module';

/** Every transition of RunRepository against PostgreSQL, with the exact row it leaves. */
describe('RunRepository (integration)', () => {
  let database: TestDatabase;
  let ds: DataSource;
  let runs: RunRepository;
  let projectId: string;
  let experimentId: string;

  const LEASE_MS = 60_000;
  const TOTALS: RunTotals = { output: 'done', tokensIn: 3, tokensOut: 4, cost: 0.5, durationMs: 12, attempts: 2 };
  const stage = (index: number, overrides: Partial<StageRecord> = {}): StageRecord => ({
    stage_name: `s${index}`,
    stage_index: index,
    prompt: `prompt ${index}`,
    output: `out ${index}`,
    model: 'mock:echo',
    tokens_in: 1,
    tokens_out: 2,
    duration_ms: 6,
    cost: 0.25,
    error: null,
    tool_calls: null,
    finish_reason: 'stop',
    ...overrides,
  });
  const seed = (s: RunSeed = {}) => insertRun(ds, experimentId, projectId, s);
  const row = (id: string): Promise<RunRow> => runRow(ds, id);
  /** A run as its executor holds it: claimed now by `owner`. */
  async function claimed(owner: string, s: RunSeed = {}): Promise<string> {
    const id = await seed(s);
    expect(await runs.claim(id, owner, LEASE_MS)).not.toBeNull();
    return id;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    ds = new DataSource(typeOrmOptions(database.url, { extra: { max: 4 } }));
    await ds.initialize();
    runs = new RunRepository(ds);
    projectId = await insertProject(ds);
  });

  beforeEach(async () => {
    await truncateRunData(ds);
    experimentId = await insertExperiment(ds, projectId);
  });

  afterAll(async () => {
    await ds?.destroy();
    await database?.drop();
  });

  describe('insertBatch', () => {
    it('inserts a launch batch as pending runs whose configs are assembled from the shared parts', async () => {
      const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const parts = {
        prompts: ['Hi {{n}}', 'Yo {{n}}'],
        models: ['mock:echo'],
        params: [[{ temperature: 0 }], [{ temperature: 1 }]],
        versions: [null, null],
        extra: { cache: false },
      };
      const count = await runs.insertBatch(ds, experimentId, projectId, {
        parts: JSON.stringify(parts),
        inputs: JSON.stringify([{ n: 1 }, { n: 2 }]),
        datasetVersionId: null,
        useCache: false,
        ids,
        hashes: ids.map((_, i) => `${i}`.padStart(64, '0')),
        prompts: [0, 0, 1, 1],
        models: [0, 0, 0, 0],
        combos: [0, 0, 0, 0],
        items: [0, 1, 0, 1],
        repetitions: [0, 1, 0, 1],
        itemKeys: [null, null, null, null],
      });
      expect(count).toBe(4);
      const rows = await Promise.all(ids.map(row));
      expect(rows.map((r) => [r.status, r.attempt, r.lease_expiries, r.lease_owner, r.started_at])).toEqual(
        ids.map(() => ['pending', 0, 0, null, null]),
      );
      expect(rows.map((r) => r.config)).toEqual([
        {
          prompt: 'Hi {{n}}',
          model: 'mock:echo',
          params: { temperature: 0 },
          input_data: { n: 1 },
          repetition: 0,
          cache: false,
        },
        {
          prompt: 'Hi {{n}}',
          model: 'mock:echo',
          params: { temperature: 0 },
          input_data: { n: 2 },
          repetition: 1,
          cache: false,
        },
        {
          prompt: 'Yo {{n}}',
          model: 'mock:echo',
          params: { temperature: 1 },
          input_data: { n: 1 },
          repetition: 0,
          cache: false,
        },
        {
          prompt: 'Yo {{n}}',
          model: 'mock:echo',
          params: { temperature: 1 },
          input_data: { n: 2 },
          repetition: 1,
          cache: false,
        },
      ]);
      const [cols] = await ds.query(
        `SELECT array_agg(config_hash ORDER BY id) AS hashes, bool_or(use_cache) AS any_cache,
                array_agg(repetition ORDER BY id) AS reps, count(*) FILTER (WHERE prompt_version IS NOT NULL)::int AS versioned
           FROM runs WHERE experiment_id = $1`,
        [experimentId],
      );
      expect(cols.any_cache).toBe(false);
      expect(cols.versioned).toBe(0);
      expect([...cols.hashes].sort()).toEqual(ids.map((_, i) => `${i}`.padStart(64, '0')));
    });
  });

  describe('claim', () => {
    it('moves a pending run to running under a lease and returns what the executor needs', async () => {
      const config: RunConfig = { prompt: 'p', model: 'mock:echo', input_data: { a: 1 } };
      const id = await seed({ config, attempt: 2, updatedMsAgo: 5_000 });
      const run = await runs.claim(id, 'owner-a', LEASE_MS);
      expect(run).toEqual({ id, experimentId, projectId, config, attempt: 2, cacheSourceId: null });
      const r = await row(id);
      expect(r).toMatchObject({ status: 'running', lease_owner: 'owner-a', attempt: 2, error: null });
      // One statement: the lease runs LEASE_MS from the start it stamped.
      expect(r.lease_expires_at!.getTime() - r.started_at!.getTime()).toBe(LEASE_MS);
      // Queue time: since the run last became pending (5 s before the claim).
      expect(r.queue_ms).toBeGreaterThanOrEqual(5_000);
      expect(r.queue_ms).toBeLessThan(35_000);
    });

    it('returns nothing for a run that is already claimed, and leaves the holder’s lease as it was', async () => {
      const id = await claimed('owner-a');
      const before = await row(id);
      expect(await runs.claim(id, 'owner-b', LEASE_MS)).toBeNull();
      const after = await row(id);
      expect(after).toMatchObject({ status: 'running', lease_owner: 'owner-a' });
      expect(after.lease_expires_at).toEqual(before.lease_expires_at);
    });

    it('lets exactly one of two simultaneous claims through', async () => {
      const id = await seed();
      const results = await Promise.all([runs.claim(id, 'owner-b', LEASE_MS), runs.claim(id, 'owner-a', LEASE_MS)]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      const winner = results[0] ? 'owner-b' : 'owner-a';
      expect((await row(id)).lease_owner).toBe(winner);
    });

    it('returns nothing for ended runs and a missing one', async () => {
      for (const status of [RunStatus.Completed, RunStatus.Failed, RunStatus.Cancelled]) {
        const id = await seed({ status, completedMsAgo: 0 });
        expect(await runs.claim(id, 'owner-a', LEASE_MS)).toBeNull();
        expect((await row(id)).status).toBe(status);
      }
      expect(await runs.claim(randomUUID(), 'owner-a', LEASE_MS)).toBeNull();
    });
  });

  describe('renew and release', () => {
    it('renews only for the lease owner', async () => {
      const id = await claimed('owner-a');
      const before = (await row(id)).lease_expires_at!.getTime();
      expect(await runs.renew(id, 'owner-b', 10 * LEASE_MS)).toBe(false);
      expect((await row(id)).lease_expires_at!.getTime()).toBe(before);
      expect(await runs.renew(id, 'owner-a', 10 * LEASE_MS)).toBe(true);
      expect((await row(id)).lease_expires_at!.getTime()).toBeGreaterThan(before + 8 * LEASE_MS);
    });

    it('releases to pending with the lease cleared (owner only), keeping the first start', async () => {
      const id = await claimed('owner-a');
      const started = (await row(id)).started_at;
      expect(await runs.release(id, 'owner-b')).toBe(false);
      expect((await row(id)).status).toBe('running');
      expect(await runs.release(id, 'owner-a')).toBe(true);
      expect(await row(id)).toMatchObject({ status: 'pending', lease_owner: null, lease_expires_at: null, attempt: 0 });
      expect(await runs.release(id, 'owner-a')).toBe(false);
      // Claimable again; started_at stays the first start.
      expect(await runs.claim(id, 'owner-c', LEASE_MS)).not.toBeNull();
      expect((await row(id)).started_at).toEqual(started);
    });
  });

  describe('complete, fail, cancel (by the executor)', () => {
    it('completes with totals and stage rows, once, and only for the lease owner', async () => {
      const id = await claimed('owner-a');
      expect(await runs.complete(id, 'owner-b', TOTALS, [stage(0)])).toBe(false);
      expect((await row(id)).status).toBe('running');
      expect(await stageRows(ds, id)).toEqual([]);

      expect(await runs.complete(id, 'owner-a', TOTALS, [stage(0), stage(1)])).toBe(true);
      const r = await row(id);
      expect(r).toMatchObject({
        status: 'completed',
        output: 'done',
        tokens_in: 3,
        tokens_out: 4,
        duration_ms: 12,
        attempts: 2,
        error: null,
        cache_hit: false,
        cached_from_run_id: null,
        lease_expires_at: null,
        lease_owner: 'owner-a',
      });
      expect(Number(r.cost_estimate)).toBe(0.5);
      expect(r.completed_at!.getTime()).toBeGreaterThanOrEqual(r.started_at!.getTime());
      const stages = await stageRows(ds, id);
      expect(stages.map((s) => [s.stage_name, s.stage_index, s.output, Number(s.cost)])).toEqual([
        ['s0', 0, 'out 0', 0.25],
        ['s1', 1, 'out 1', 0.25],
      ]);
      // A duplicate delivery's completion writes nothing.
      expect(await runs.complete(id, 'owner-a', { ...TOTALS, output: 'again' }, [stage(0, { output: 'x' })])).toBe(
        false,
      );
      expect((await row(id)).output).toBe('done');
      expect((await stageRows(ds, id)).map((s) => s.output)).toEqual(['out 0', 'out 1']);
    });

    it('a stale lease owner cannot complete after its lease was handed to another worker', async () => {
      const id = await seed({ status: RunStatus.Running, leaseOwner: 'owner-old', leaseExpiresInMs: -1_000 });
      const [expired] = await runs.requeueExpired(10, MAX_RUN_REQUEUES);
      expect(expired).toMatchObject({ id, status: 'pending', previous_owner: 'owner-old' });
      expect(await runs.claim(id, 'owner-new', LEASE_MS)).not.toBeNull();
      expect(await runs.complete(id, 'owner-old', TOTALS, [stage(0)])).toBe(false);
      expect(await runs.renew(id, 'owner-old', LEASE_MS)).toBe(false);
      expect(await row(id)).toMatchObject({ status: 'running', lease_owner: 'owner-new', output: null });
      expect(await runs.complete(id, 'owner-new', TOTALS, [stage(0)])).toBe(true);
      expect(await row(id)).toMatchObject({ status: 'completed', lease_owner: 'owner-new', attempt: 1 });
      expect(await stageRows(ds, id)).toHaveLength(1);
    });

    it('fails with the error, the spent totals and the failing stage', async () => {
      const id = await claimed('owner-a');
      const totals: RunTotals = { output: null, tokensIn: 1, tokensOut: 2, cost: 0.25, durationMs: 6, attempts: 3 };
      expect(await runs.fail(id, 'owner-b', 'boom', totals, [])).toBe(false);
      expect(
        await runs.fail(id, 'owner-a', 'boom', totals, [stage(0), stage(1, { output: null, error: 'boom' })]),
      ).toBe(true);
      const r = await row(id);
      expect(r).toMatchObject({
        status: 'failed',
        error: 'boom',
        output: null,
        tokens_in: 1,
        attempts: 3,
        lease_expires_at: null,
      });
      expect(r.completed_at).not.toBeNull();
      expect((await stageRows(ds, id)).map((s) => [s.stage_index, s.error])).toEqual([
        [0, null],
        [1, 'boom'],
      ]);
      expect(await runs.complete(id, 'owner-a', TOTALS, [])).toBe(false);
      expect((await row(id)).status).toBe('failed');
    });

    it('cancels its own run for the budget, keeping what it spent', async () => {
      const id = await claimed('owner-a');
      expect(await runs.cancel(id, 'owner-a', 'Budget exhausted', { ...TOTALS, output: null }, [stage(0)])).toBe(true);
      expect(await row(id)).toMatchObject({
        status: 'cancelled',
        error: 'Budget exhausted',
        tokens_in: 3,
        lease_expires_at: null,
      });
      expect(await stageRows(ds, id)).toHaveLength(1);
    });
  });

  describe('completeFromCache', () => {
    const config: RunConfig = { prompt: 'cached {{n}}', model: 'mock:echo', input_data: { n: 7 } };

    it('finds a completed run of the same config at claim and copies it (output, tokens, duration, stages), cost 0', async () => {
      const source = await seed({
        config,
        status: RunStatus.Completed,
        output: 'cached out',
        tokensIn: 5,
        tokensOut: 6,
        durationMs: 40,
        costEstimate: 0.2,
        startedMsAgo: 2_000,
        completedMsAgo: 1_000,
      });
      await insertStageResult(ds, source, { output: 'cached out', cost: 0.2, tokensIn: 5, tokensOut: 6 });
      const other = await seed({ config: { ...config, input_data: { n: 8 } } });
      expect((await runs.claim(other, 'owner-x', LEASE_MS))?.cacheSourceId).toBeNull();

      const target = await seed({ config });
      const run = await runs.claim(target, 'owner-a', LEASE_MS);
      expect(run?.cacheSourceId).toBe(source);
      expect(await runs.completeFromCache(target, 'owner-b', source)).toBe(false);
      expect((await row(target)).status).toBe('running');
      expect(await runs.completeFromCache(target, 'owner-a', source)).toBe(true);
      const r = await row(target);
      expect(r).toMatchObject({
        status: 'completed',
        output: 'cached out',
        tokens_in: 5,
        tokens_out: 6,
        duration_ms: 40,
        attempts: 0,
        cache_hit: true,
        cached_from_run_id: source,
        lease_expires_at: null,
        error: null,
      });
      expect(Number(r.cost_estimate)).toBe(0);
      expect((await stageRows(ds, target)).map((s) => [s.output, Number(s.cost), s.tokens_in])).toEqual([
        ['cached out', 0, 5],
      ]);

      // A third run prefers the original over the copy, and a copy of a copy points at the original.
      const third = await seed({ config });
      expect((await runs.claim(third, 'owner-c', LEASE_MS))?.cacheSourceId).toBe(source);
      expect(await runs.completeFromCache(third, 'owner-c', target)).toBe(true);
      expect((await row(third)).cached_from_run_id).toBe(source);
    });

    it('copies nothing when the source is no longer completed', async () => {
      const source = await seed({ config, status: RunStatus.Completed, output: 'x', completedMsAgo: 0 });
      const target = await seed({ config });
      expect((await runs.claim(target, 'owner-a', LEASE_MS))?.cacheSourceId).toBe(source);
      await ds.query(`UPDATE runs SET status = 'failed' WHERE id = $1`, [source]);
      expect(await runs.completeFromCache(target, 'owner-a', source)).toBe(false);
      expect(await row(target)).toMatchObject({ status: 'running', lease_owner: 'owner-a', cache_hit: false });
    });
  });

  describe('cancel paths', () => {
    it('cancelOne: a pending or running run ends cancelled with its lease cleared; an ended run is left alone', async () => {
      const pending = await seed();
      const running = await claimed('owner-a');
      const done = await seed({ status: RunStatus.Completed, output: 'kept', completedMsAgo: 0 });

      const p = await runs.cancelOne<RunRow>(ds, pending);
      expect(p).toMatchObject({ id: pending, status: 'cancelled', lease_owner: null, lease_expires_at: null });
      expect(p!.completed_at).not.toBeNull();
      const r = await runs.cancelOne<RunRow>(ds, running);
      expect(r).toMatchObject({ id: running, status: 'cancelled', lease_owner: null, lease_expires_at: null });
      expect(await row(running)).toMatchObject({ status: 'cancelled', lease_owner: null, lease_expires_at: null });
      expect(await runs.cancelOne(ds, done)).toBeNull();
      expect(await row(done)).toMatchObject({ status: 'completed', output: 'kept' });
      expect(await runs.cancelOne(ds, pending)).toBeNull();

      // The executor that held the cancelled run can neither renew nor write.
      expect(await runs.renew(running, 'owner-a', LEASE_MS)).toBe(false);
      expect(await runs.complete(running, 'owner-a', TOTALS, [stage(0)])).toBe(false);
      expect(await runs.release(running, 'owner-a')).toBe(false);
      expect(await row(running)).toMatchObject({ status: 'cancelled', output: null });
      expect(await stageRows(ds, running)).toEqual([]);
    });

    it('cancelExperiment: every pending and running run ends cancelled with its lease cleared; ended runs stay', async () => {
      const pending = await seed();
      const running = await claimed('owner-a');
      const done = await seed({ status: RunStatus.Completed, completedMsAgo: 0 });
      const failed = await seed({ status: RunStatus.Failed, error: 'no', completedMsAgo: 0 });
      const otherExperiment = await insertExperiment(ds, projectId);
      const elsewhere = await insertRun(ds, otherExperiment, projectId);

      expect((await runs.cancelExperiment(ds, experimentId)).sort()).toEqual([pending, running].sort());
      for (const id of [pending, running]) {
        const r = await row(id);
        expect(r).toMatchObject({ status: 'cancelled', lease_owner: null, lease_expires_at: null });
        expect(r.completed_at).not.toBeNull();
      }
      expect((await row(done)).status).toBe('completed');
      expect(await row(failed)).toMatchObject({ status: 'failed', error: 'no' });
      expect((await row(elsewhere)).status).toBe('pending');
      expect(await runs.cancelExperiment(ds, experimentId)).toEqual([]);
      expect(await runs.complete(running, 'owner-a', TOTALS, [])).toBe(false);
    });

    it('cancelPending (budget stop): pending runs only, with the reason', async () => {
      const pending = await seed();
      const running = await claimed('owner-a');
      expect(await runs.cancelPending(ds, experimentId, 'Budget exhausted')).toEqual([pending]);
      expect(await row(pending)).toMatchObject({ status: 'cancelled', error: 'Budget exhausted', lease_owner: null });
      expect(await row(running)).toMatchObject({ status: 'running', lease_owner: 'owner-a' });
    });
  });

  describe('retryFailed', () => {
    it('puts failed runs back to pending with attempt + 1 and every result cleared, their stage rows removed', async () => {
      const failed = await seed({
        status: RunStatus.Failed,
        attempt: 2,
        leaseExpiries: 3,
        leaseOwner: 'owner-z',
        output: 'partial',
        error: 'boom',
        startedMsAgo: 2_000,
        completedMsAgo: 1_000,
        tokensIn: 4,
        tokensOut: 5,
        costEstimate: 0.3,
        durationMs: 9,
      });
      await insertStageResult(ds, failed, { error: 'boom' });
      const done = await seed({ status: RunStatus.Completed, output: 'ok', completedMsAgo: 0 });
      await insertStageResult(ds, done, { output: 'ok' });

      expect(await runs.retryFailed(ds, experimentId)).toEqual([failed]);
      expect(await row(failed)).toMatchObject({
        status: 'pending',
        attempt: 3,
        lease_expiries: 0,
        lease_owner: null,
        lease_expires_at: null,
        output: null,
        error: null,
        started_at: null,
        completed_at: null,
        tokens_in: null,
        tokens_out: null,
        cost_estimate: null,
        duration_ms: null,
        attempts: null,
        scored_at: null,
        scoring_errors: null,
        cache_hit: false,
      });
      expect(await stageRows(ds, failed)).toEqual([]);
      expect(await row(done)).toMatchObject({ status: 'completed', output: 'ok', attempt: 0 });
      expect(await stageRows(ds, done)).toHaveLength(1);
      expect(await runs.retryFailed(ds, experimentId)).toEqual([]);
    });
  });

  describe('requeueExpired and bumpOrphans (the sweeper’s writes)', () => {
    it('hands expired leases out again (attempt + 1, expiries + 1) or fails them at the limit; live leases stay', async () => {
      const expired = await seed({
        status: RunStatus.Running,
        leaseOwner: 'dead',
        leaseExpiresInMs: -1_000,
        attempt: 4,
      });
      const worn = await seed({
        status: RunStatus.Running,
        leaseOwner: 'dead-too',
        leaseExpiresInMs: -1_000,
        leaseExpiries: MAX_RUN_REQUEUES,
      });
      const live = await claimed('owner-a');
      const pending = await seed();

      const out = await runs.requeueExpired(10, MAX_RUN_REQUEUES);
      expect(out.map((r) => r.id).sort()).toEqual([expired, worn].sort());
      expect(out.find((r) => r.id === expired)).toEqual({
        id: expired,
        experiment_id: experimentId,
        status: 'pending',
        attempt: 5,
        lease_expiries: 1,
        error: null,
        previous_owner: 'dead',
      });
      const wornMessage = `Abandoned: its worker stopped without finishing it ${MAX_RUN_REQUEUES + 1} times (lease expired)`;
      expect(out.find((r) => r.id === worn)).toMatchObject({
        status: 'failed',
        previous_owner: 'dead-too',
        error: wornMessage,
      });
      expect(await row(expired)).toMatchObject({
        status: 'pending',
        lease_owner: null,
        lease_expires_at: null,
        attempt: 5,
      });
      const w = await row(worn);
      expect(w).toMatchObject({
        status: 'failed',
        lease_owner: null,
        lease_expiries: MAX_RUN_REQUEUES + 1,
        error: wornMessage,
      });
      expect(w.completed_at).not.toBeNull();
      expect(await row(live)).toMatchObject({ status: 'running', lease_owner: 'owner-a', attempt: 0 });
      expect(await row(pending)).toMatchObject({ status: 'pending', attempt: 0 });
      expect(await runs.requeueExpired(10, MAX_RUN_REQUEUES)).toEqual([]);
    });

    it('takes the oldest expiries first, up to the limit', async () => {
      const newer = await seed({ status: RunStatus.Running, leaseOwner: 'd1', leaseExpiresInMs: -1_000 });
      const older = await seed({ status: RunStatus.Running, leaseOwner: 'd2', leaseExpiresInMs: -5_000 });
      expect((await runs.requeueExpired(1, MAX_RUN_REQUEUES)).map((r) => r.id)).toEqual([older]);
      expect((await row(newer)).status).toBe('running');
      expect((await runs.requeueExpired(1, MAX_RUN_REQUEUES)).map((r) => r.id)).toEqual([newer]);
    });

    it('bumps the attempt of pending orphans nobody moved meanwhile, and of nothing else', async () => {
      const orphan = await seed({ attempt: 0 });
      const moved = await seed({ attempt: 1 });
      const running = await claimed('owner-a');
      const bumped = await runs.bumpOrphans([
        { id: orphan, attempt: 0 },
        { id: moved, attempt: 0 },
        { id: running, attempt: 0 },
      ]);
      expect(bumped).toEqual([{ id: orphan, experiment_id: experimentId, attempt: 1 }]);
      expect((await row(orphan)).attempt).toBe(1);
      expect((await row(moved)).attempt).toBe(1);
      expect(await row(running)).toMatchObject({ status: 'running', attempt: 0 });
      expect(await runs.bumpOrphans([{ id: orphan, attempt: 0 }])).toEqual([]);
    });
  });

  describe('scoring stamps', () => {
    it('markScored stamps scored_at once', async () => {
      const id = await seed({ status: RunStatus.Completed, output: 'x', completedMsAgo: 0 });
      expect((await row(id)).scored_at).toBeNull();
      await runs.markScored(ds, id);
      const first = (await row(id)).scored_at;
      expect(first).toBeInstanceOf(Date);
      await runs.markScored(ds, id);
      expect((await row(id)).scored_at).toEqual(first);
    });

    it('recordScoring writes each run’s scoring errors (none: NULL) and stamps scored_at', async () => {
      const a = await seed({ status: RunStatus.Completed, completedMsAgo: 0 });
      const b = await seed({ status: RunStatus.Completed, completedMsAgo: 0 });
      const untouched = await seed({ status: RunStatus.Completed, completedMsAgo: 0 });
      await runs.recordScoring(
        ds,
        JSON.stringify([
          { run_id: a, errors: { judge: 'provider down' } },
          { run_id: b, errors: null },
        ]),
      );
      expect(await row(a)).toMatchObject({ scoring_errors: { judge: 'provider down' }, scored_at: expect.any(Date) });
      expect(await row(b)).toMatchObject({ scoring_errors: null, scored_at: expect.any(Date) });
      expect((await row(untouched)).scored_at).toBeNull();
    });
  });

  describe('insertOne, status and deleteOfExperiment', () => {
    it('inserts one ad-hoc run, reads its status, and deletes an experiment’s runs with their stage rows', async () => {
      const config: RunConfig = { prompt: 'adhoc', model: 'mock:echo', input_data: {} };
      const inserted = await runs.insertOne<RunRow>(ds, {
        experimentId,
        projectId,
        config,
        configHash: 'f'.repeat(64),
        useCache: false,
      });
      expect(inserted).toMatchObject({ status: 'pending', attempt: 0, config, experiment_id: experimentId });
      expect(await runs.status(inserted.id)).toBe(RunStatus.Pending);
      expect(await runs.status(randomUUID())).toBeNull();

      await insertStageResult(ds, inserted.id);
      const otherExperiment = await insertExperiment(ds, projectId);
      const kept = await insertRun(ds, otherExperiment, projectId);
      await insertStageResult(ds, kept);
      await ds.transaction((em) => runs.deleteOfExperiment(em, experimentId));
      const [counts] = await ds.query(
        `SELECT (SELECT count(*) FROM runs WHERE experiment_id = $1)::int AS runs,
                (SELECT count(*) FROM stage_results WHERE run_id = $2)::int AS stages,
                (SELECT count(*) FROM stage_results WHERE run_id = $3)::int AS kept_stages`,
        [experimentId, inserted.id, kept],
      );
      expect(counts).toEqual({ runs: 0, stages: 0, kept_stages: 1 });
      expect((await row(kept)).status).toBe('pending');
    });
  });
});
