import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import Redis from 'ioredis';
import { EXECUTE_RUN_JOB, MAX_RUN_REQUEUES, RUNS_QUEUE, runJobId } from '../src/execution/execution.constants';
import { PROCESS_LEASE_ID } from '../src/execution/lease-owner';
import { RUN_DISPATCHER_IMPL, type TrackingRunDispatcher } from '../src/execution/tracking-run-dispatcher';
import { RunRepository } from '../src/runs/run.repository';
import { RunStatus } from '../src/domain/statuses';
import { createTestDatabase, type TestDatabase } from './support/database';
import { createExecutionContext, type ExecutionContext } from './support/execution-context';
import {
  experimentStatus,
  insertExperiment,
  insertProject,
  insertRun,
  insertRuns,
  type RunSeed,
  runIn,
  runRow,
  stageRows,
} from './support/factories';
import { useFaultHarness } from './support/fault-harness';
import { waitFor } from './support/wait';

// Child workers start through ts-node, and leases must expire: longer than jest's 5 s default.
jest.setTimeout(90_000);

const OPENAI = 'openai:test-model';
/** Short leases and frequent sweeps, so a dead worker's run is handed out again within seconds. */
const FAST = { RUN_LEASE_MS: '1500', SWEEP_INTERVAL_MS: '200' };
/** A run as a worker that died mid-run leaves it: running, its lease a second past its expiry. */
const expiredLease: RunSeed = {
  config: { prompt: 'work {{n}}', model: 'mock:echo', input_data: { n: 0 } },
  status: RunStatus.Running,
  leaseOwner: 'gone',
  leaseExpiresInMs: -1000,
};

describe('execution under failure', () => {
  const h = useFaultHarness({ env: FAST });
  const { api, context, worker } = h;

  async function pendingRuns(count: number, config = { prompt: 'work {{n}}', model: 'mock:echo' }) {
    const experimentId = await insertExperiment(api().dataSource, h.projectId);
    const ids = await insertRuns(
      api().dataSource,
      experimentId,
      h.projectId,
      Array.from({ length: count }, (_, n) => ({ ...config, input_data: { n } })),
    );
    return { experimentId, ids };
  }

  it('finishes the run of a worker killed with SIGKILL mid-run in another worker, after the lease, with one set of stage results', async () => {
    // The first call never answers in time (the worker dies waiting); later ones answer at once.
    h.fake.setResponder(() => (h.fake.requests.length === 1 ? { delayMs: 60_000 } : undefined));
    const doomed = await worker();
    const { experimentId, ids } = await pendingRuns(1, { prompt: 'slow {{n}}', model: OPENAI });
    await api().dispatcher.dispatch(ids);
    await waitFor(
      async () =>
        h.fake.requests.length === 1 &&
        (await runRow(api().dataSource, ids[0])).lease_owner?.includes(`:${doomed.pid}:`),
      {
        what: 'the child worker to be calling the provider',
      },
    );

    doomed.kill('SIGKILL');
    await doomed.exited;
    const survivor = await context('worker');
    const run = await runIn(api().dataSource, ids[0], ['completed', 'failed'], 30_000);

    expect(run).toMatchObject({ status: 'completed', attempt: 1, output: 'echo: slow 0' });
    expect(run.lease_owner?.startsWith(PROCESS_LEASE_ID)).toBe(true);
    expect(await stageRows(api().dataSource, run.id)).toHaveLength(1);
    expect(h.fake.requests).toHaveLength(2);
    await waitFor(async () => (await experimentStatus(api().dataSource, experimentId)) === 'completed', {
      what: 'the experiment to complete',
    });
    // Scoring and events follow the completion: the survivor settles with nothing left in flight.
    await waitFor(() => survivor.executor!.inFlight === 0, { what: 'the survivor to finish its work' });
  });

  it('gives a run back on SIGTERM so another worker finishes it before the lease would expire', async () => {
    h.fake.setResponder(() => (h.fake.requests.length === 1 ? { delayMs: 60_000 } : undefined));
    const leaving = await worker({ RUN_LEASE_MS: '120000' });
    const { ids } = await pendingRuns(1, { prompt: 'handover {{n}}', model: OPENAI });
    await api().dispatcher.dispatch(ids);
    await waitFor(
      async () =>
        h.fake.requests.length === 1 &&
        (await runRow(api().dataSource, ids[0])).lease_owner?.includes(`:${leaving.pid}:`),
      {
        what: 'the child worker to be calling the provider',
      },
    );

    leaving.kill('SIGTERM');
    expect(await leaving.exited).toEqual({ code: 0, signal: null });
    expect((await runRow(api().dataSource, ids[0])).status).toBe('pending');
    await context('worker', { RUN_LEASE_MS: '120000' });
    const run = await runIn(api().dataSource, ids[0], ['completed', 'failed'], 30_000);

    expect(run).toMatchObject({ status: 'completed', output: 'echo: handover 0' });
    expect(run.lease_owner?.startsWith(PROCESS_LEASE_ID)).toBe(true);
    expect(await stageRows(api().dataSource, run.id)).toHaveLength(1);
    expect(leaving.output()).toContain('SIGTERM');
  });

  it('writes once when the same run is delivered twice at once (two jobs, and two direct executions)', async () => {
    h.fake.setResponder(() => ({ delayMs: 100 }));
    // No sweeper: it would dispatch the undelivered second run by itself.
    const w = await context('worker', {}, { sweep: false });
    const queue = w.app.get<Queue>(getQueueToken(RUNS_QUEUE), { strict: false });
    const { ids } = await pendingRuns(2, { prompt: 'twice {{n}}', model: OPENAI });

    // Through the queue: the regular job and a stray duplicate with another id.
    const jobs = await Promise.all([
      queue.add(EXECUTE_RUN_JOB, { runId: ids[0], attempt: 0 }, { jobId: runJobId(ids[0], 0) }),
      queue.add(EXECUTE_RUN_JOB, { runId: ids[0], attempt: 0 }, { jobId: `${ids[0]}:duplicate` }),
    ]);
    const results = await Promise.all(jobs.map((job) => job.finished()));
    expect(results.sort()).toEqual(['completed', 'skipped']);

    // Straight into the executor, concurrently.
    const outcomes = await Promise.all([w.executor!.execute(ids[1]), w.executor!.execute(ids[1])]);
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['completed', 'skipped']);

    for (const id of ids) {
      expect((await runRow(api().dataSource, id)).status).toBe('completed');
      expect(await stageRows(api().dataSource, id)).toHaveLength(1);
    }
    expect(h.fake.requests).toHaveLength(2);
  });

  it('re-enqueues pending runs whose jobs Redis lost (FLUSHALL), and they complete', async () => {
    const dispatcher = api().app.get<TrackingRunDispatcher>(RUN_DISPATCHER_IMPL, { strict: false });
    const { experimentId, ids } = await pendingRuns(5);
    await api().dispatcher.dispatch(ids); // no worker yet: the jobs wait in Redis
    const refs = ids.map((id) => ({ id, attempt: 0 }));
    expect(await dispatcher.undelivered(refs)).toEqual([]);

    const client = new Redis(h.redis.url);
    try {
      await client.flushall();
    } finally {
      client.disconnect();
    }
    expect(await dispatcher.undelivered(refs)).toEqual(refs);

    await context('worker');
    for (const id of ids) {
      expect(await runIn(api().dataSource, id, ['completed', 'failed'])).toMatchObject({
        status: 'completed',
        attempt: 1,
      });
      expect(await stageRows(api().dataSource, id)).toHaveLength(1);
    }
    await waitFor(async () => (await experimentStatus(api().dataSource, experimentId)) === 'completed', {
      what: 'the experiment to complete',
    });
  });

  it('fails a run whose lease expired once too often instead of handing it out forever, saying how often', async () => {
    const w = await context('worker', {}, { sweep: false });
    const experimentId = await insertExperiment(api().dataSource, h.projectId);
    const ids = [
      await insertRun(api().dataSource, experimentId, h.projectId, {
        ...expiredLease,
        attempt: MAX_RUN_REQUEUES + 7,
        leaseExpiries: MAX_RUN_REQUEUES,
      }),
    ];
    const result = await w.sweeper!.sweepOnce();
    expect(result).toMatchObject({ expiredRequeued: 0, expiredFailed: 1 });
    const run = await runRow(api().dataSource, ids[0]);
    expect(run).toMatchObject({
      status: 'failed',
      attempt: MAX_RUN_REQUEUES + 8,
      lease_expiries: MAX_RUN_REQUEUES + 1,
      // The expiries, not the attempt (which lost jobs bumped too).
      error: `Abandoned: its worker stopped without finishing it ${MAX_RUN_REQUEUES + 1} times (lease expired)`,
    });
    await waitFor(async () => (await experimentStatus(api().dataSource, experimentId)) === 'completed', {
      what: 'the experiment to complete',
    });
    // Retrying a failed run starts its count of expiries over.
    const runs = w.app.get(RunRepository, { strict: false });
    expect(await runs.retryFailed(api().dataSource.manager, experimentId)).toEqual([ids[0]]);
    expect(await runRow(api().dataSource, ids[0])).toMatchObject({ status: 'pending', lease_expiries: 0, error: null });
  });

  it('hands out again a run whose attempt infrastructure bumped many times but whose lease expired once', async () => {
    const w = await context('worker', {}, { sweep: false });
    const experimentId = await insertExperiment(api().dataSource, h.projectId);
    const ids = [
      await insertRun(api().dataSource, experimentId, h.projectId, { ...expiredLease, attempt: MAX_RUN_REQUEUES * 3 }),
    ];
    expect(await w.sweeper!.sweepOnce()).toMatchObject({ expiredRequeued: 1, expiredFailed: 0 });
    expect(await runRow(api().dataSource, ids[0])).toMatchObject({
      attempt: MAX_RUN_REQUEUES * 3 + 1,
      lease_expiries: 1,
      error: null,
    });
    const run = await runIn(api().dataSource, ids[0], ['completed', 'failed']);
    expect(run).toMatchObject({ status: 'completed', lease_expiries: 1 });
  });

  it('fails no healthy run through repeated FLUSHALLs and worker kills: lost jobs do not count as abandonment', async () => {
    // A sweeping process that takes no jobs from the queue (no consumer at all: a locally paused
    // one may still take a job its fetch had already asked for): it re-enqueues lost jobs and hands
    // expired leases out again, and child workers do the executing.
    // Leases long enough that a loaded machine's live worker still renews in time: here only the
    // kills may expire them.
    const lease = { RUN_LEASE_MS: '5000' };
    const sweeping = await context('worker', lease, { consume: false });
    const queue = sweeping.app.get<Queue>(getQueueToken(RUNS_QUEUE), { strict: false });
    let stall = true;
    h.fake.setResponder(() => (stall ? { delayMs: 60_000 } : undefined));
    const { experimentId, ids } = await pendingRuns(4, { prompt: 'storm {{n}}', model: OPENAI });
    await api().dispatcher.dispatch(ids);
    const attempts = () =>
      api().dataSource.query<{ id: string; attempt: number }[]>(
        `SELECT id, attempt FROM runs WHERE id = ANY($1) ORDER BY id`,
        [ids],
      );
    const flushAll = async (times: number) => {
      for (let i = 0; i < times; i++) {
        const before = await attempts();
        // A requeue writes the run, then adds its job: wait for every job, so the FLUSHALL loses it.
        await waitFor(
          async () => (await Promise.all(before.map((r) => queue.getJob(runJobId(r.id, r.attempt))))).every(Boolean),
          { timeoutMs: 30_000, what: `every run's job to be in the queue (before FLUSHALL ${i + 1})` },
        );
        const client = new Redis(h.redis.url);
        try {
          await client.flushall();
        } finally {
          client.disconnect();
        }
        await waitFor(async () => (await attempts()).every((r, n) => r.attempt > before[n].attempt), {
          timeoutMs: 30_000,
          what: `the sweeper to re-enqueue the lost jobs (FLUSHALL ${i + 1})`,
        });
      }
    };
    const killMidRun = async () => {
      const calls = h.fake.requests.length;
      // Start-up compiles the worker (ts-node): slow on a loaded machine.
      const doomed = await worker(lease, 240_000);
      await waitFor(() => h.fake.requests.length >= calls + ids.length, {
        timeoutMs: 60_000,
        what: 'the child worker to be calling the provider for every run',
      });
      doomed.kill('SIGKILL');
      await doomed.exited;
      h.forget(doomed);
      await waitFor(
        async () => {
          const rows = await api().dataSource.query<{ status: string }[]>(
            `SELECT status FROM runs WHERE id = ANY($1)`,
            [ids],
          );
          return rows.every((r) => r.status === 'pending');
        },
        { timeoutMs: 30_000, what: 'the expired leases to be handed out again' },
      );
    };

    await flushAll(3);
    await killMidRun();
    await flushAll(3);
    await killMidRun();
    stall = false;
    await context('worker', lease);

    for (const id of ids) {
      const run = await runIn(api().dataSource, id, ['completed', 'failed'], 60_000);
      expect(run).toMatchObject({ status: 'completed', error: null });
      // Six lost jobs and (at least) two expiries: more than MAX_RUN_REQUEUES requeues, none fatal.
      expect(run.lease_expiries).toBeGreaterThanOrEqual(2);
      expect(run.attempt).toBeGreaterThan(MAX_RUN_REQUEUES);
      expect(await stageRows(api().dataSource, id)).toHaveLength(1);
    }
    await waitFor(async () => (await experimentStatus(api().dataSource, experimentId)) === 'completed', {
      what: 'the experiment to complete',
    });
  }, 600_000);

  it('scores a completed run whose worker died before scoring it, once per scorer', async () => {
    const w = await context('worker', {}, { sweep: false });
    const experimentId = await insertExperiment(api().dataSource, h.projectId, {
      scoringConfig: {
        scorers: [
          { name: 'has_done', type: 'contains', params: { value: 'done' } },
          { name: 'short', type: 'length', params: { max: 100 } },
        ],
      },
    });
    // As a worker leaves it when it dies between the completion transaction and scoring.
    const id = await insertRun(api().dataSource, experimentId, h.projectId, {
      config: { prompt: 'all done', model: 'mock:echo' },
      status: RunStatus.Completed,
      output: 'all done',
      startedMsAgo: 3_600_000,
      completedMsAgo: 3_600_000,
      durationMs: 5,
      tokensIn: 2,
      tokensOut: 2,
      costEstimate: 0,
    });
    const first = await w.sweeper!.sweepOnce();
    expect(first.unscoredScored).toBe(1);
    const scores = await api().dataSource.query(
      `SELECT scorer_name, value, source FROM scores WHERE run_id = $1 ORDER BY scorer_name`,
      [id],
    );
    expect(scores).toEqual([
      { scorer_name: 'has_done', value: 1, source: 'auto' },
      { scorer_name: 'short', value: 1, source: 'auto' },
    ]);
    expect((await runRow(api().dataSource, id)) as unknown as { scored_at: Date | null }).toMatchObject({
      scored_at: expect.any(Date),
    });
    const second = await w.sweeper!.sweepOnce();
    expect(second.unscoredScored).toBe(0);
    const [{ n }] = await api().dataSource.query(`SELECT count(*)::int AS n FROM scores WHERE run_id = $1`, [id]);
    expect(n).toBe(2);
  });
});

describe('embedded mode restart', () => {
  let database: TestDatabase;
  let ctx: ExecutionContext | null = null;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await ctx?.close();
    await database?.drop();
  });

  it('dispatches every pending run, and runs whose lease expired, again on start-up', async () => {
    // A first process inserted these and died: nothing was dispatched, one run was mid-execution.
    const seed = await createExecutionContext({ database, sweep: false });
    const projectId = await insertProject(seed.dataSource);
    const experimentId = await insertExperiment(seed.dataSource, projectId);
    const config = (n: number) => ({ prompt: 'left over {{n}}', model: 'mock:echo', input_data: { n } });
    const ids = [
      await insertRun(seed.dataSource, experimentId, projectId, {
        config: config(0),
        status: RunStatus.Running,
        leaseOwner: 'dead-process',
        leaseExpiresInMs: -1000,
        startedMsAgo: 0,
      }),
      ...(await insertRuns(seed.dataSource, experimentId, projectId, [1, 2, 3].map(config))),
    ];
    await seed.close();

    const restarted = await createExecutionContext({ database });
    ctx = restarted;
    for (const id of ids) {
      expect(await runIn(restarted.dataSource, id, ['completed', 'failed'])).toMatchObject({
        status: 'completed',
        attempt: 1,
      });
    }
    await waitFor(async () => (await experimentStatus(restarted.dataSource, experimentId)) === 'completed', {
      what: 'the experiment to complete',
    });
  });
});
