import { type DataSource } from 'typeorm';
import { type ScoringConfig } from '../src/domain/configs';
import { insertExperiment, insertRuns, runIn, runRow } from './support/factories';
import { useFaultHarness } from './support/fault-harness';
import { waitFor } from './support/wait';

// Child workers start through ts-node, and leases must expire: longer than jest's 5 s default.
jest.setTimeout(300_000);

const RUN_MODEL = 'openai:paid-model';
const JUDGE_MODEL = 'openai:paid-judge';
/** USD per million tokens: a reservation of a few hundred tokens is well above zero. */
const PRICES = { [RUN_MODEL]: { input: 1000, output: 1000 }, [JUDGE_MODEL]: { input: 2000, output: 2000 } };
/** Short leases; the sweeper is driven by the test (sweep: false), so each sweep's result is seen. */
const FAST = { RUN_LEASE_MS: '1500', SWEEP_INTERVAL_MS: '200' };

interface Reservation {
  run_id: string | null;
  holder: string | null;
  kind: string;
  amount_usd: number;
}

async function reservations(ds: DataSource, experimentId: string): Promise<Reservation[]> {
  return ds.query(
    `SELECT run_id, holder, kind, amount_usd::float8 AS amount_usd FROM spend_reservations WHERE experiment_id = $1`,
    [experimentId],
  );
}

/** The reservations of an experiment with their id, age and expiry (PostgreSQL's clock, in ms). */
async function reservationRows(
  ds: DataSource,
  experimentId: string,
): Promise<Array<{ id: string; kind: string; age_ms: number; expires_at_ms: number }>> {
  return ds.query(
    `SELECT id, kind, (extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms,
            (extract(epoch FROM expires_at) * 1000)::float8 AS expires_at_ms
       FROM spend_reservations WHERE experiment_id = $1`,
    [experimentId],
  );
}

/** The run's scores, once there is one: a judge call settles its spend before its answer is parsed and stored. */
async function judgeScores(ds: DataSource, runId: string): Promise<Array<{ value: number }>> {
  return waitFor(
    async () => {
      const found: Array<{ value: number }> = await ds.query(`SELECT value FROM scores WHERE run_id = $1`, [runId]);
      return found.length > 0 ? found : null;
    },
    { what: 'the judge score' },
  );
}

/** How far ahead of now the latest expiry of an experiment's reservations lies (ms). */
async function expiresInMs(ds: DataSource, experimentId: string): Promise<number> {
  const [row] = await ds.query(
    `SELECT (extract(epoch FROM max(expires_at) - now()) * 1000)::float8 AS ms FROM spend_reservations WHERE experiment_id = $1`,
    [experimentId],
  );
  return row.ms;
}

async function spend(
  ds: DataSource,
  experimentId: string,
): Promise<{ reserved: number; cost: number; judge: number; rows: number; rows_sum: number }> {
  const [row] = await ds.query(
    `SELECT e.spend_reserved_usd::float8 AS reserved, e.spend_cost_usd::float8 AS cost, e.spend_judge_usd::float8 AS judge,
            (SELECT count(*)::int FROM spend_reservations s WHERE s.experiment_id = e.id) AS rows,
            (SELECT coalesce(sum(amount_usd), 0)::float8 FROM spend_reservations s WHERE s.experiment_id = e.id) AS rows_sum
       FROM experiments e WHERE e.id = $1`,
    [experimentId],
  );
  return row;
}

describe('budget reservations of a process that died between reserve and settle are released', () => {
  const h = useFaultHarness({
    env: { MODEL_PRICES: JSON.stringify(PRICES), ...FAST },
    // The sweeper is driven by the tests.
    sweep: false,
    // ts-node compiles the worker on start: slow on a loaded machine.
    workerReadyTimeoutMs: 180_000,
  });
  const { api, context, worker } = h;

  /**
   * A running experiment with a budget that fits two reservations of a call (a judge's estimate is
   * $8: 4,096 output tokens), so the late judge call still fits beside the dead one.
   */
  async function budgetedExperiment(scoringConfig?: ScoringConfig) {
    return insertExperiment(api().dataSource, h.projectId, { scoringConfig, budgetUsd: 100 });
  }

  it('a SIGKILLed worker’s run reservation is released when the sweeper finds its lease expired', async () => {
    // The first call never answers (the worker dies waiting); the next one answers at once.
    h.fake.setResponder(() => (h.fake.requests.length === 1 ? { delayMs: 60_000 } : undefined));
    const doomed = await worker();
    const experimentId = await budgetedExperiment();
    const [id] = await insertRuns(api().dataSource, experimentId, h.projectId, [
      { prompt: 'slow {{n}}', model: RUN_MODEL, input_data: { n: 1 }, params: { max_tokens: 50 } },
    ]);
    await api().dispatcher.dispatch([id]);
    const held = await waitFor(
      async () => {
        const row = await runRow(api().dataSource, id);
        return h.fake.requests.length === 1 && row.lease_owner?.includes(`:${doomed.pid}:`) ? row : null;
      },
      { what: 'the child worker to be calling the provider' },
    );

    // In flight: one reservation of the run, held by that lease, counted in the experiment's reserved spend.
    const [reservation] = await reservations(api().dataSource, experimentId);
    expect(reservation).toMatchObject({ run_id: id, holder: held.lease_owner, kind: 'run' });
    // The estimate covers at least the 50 output tokens of max_tokens at $0.001 each.
    expect(reservation.amount_usd).toBeGreaterThanOrEqual(0.05);
    expect(await spend(api().dataSource, experimentId)).toMatchObject({
      reserved: reservation.amount_usd,
      rows: 1,
      cost: 0,
    });

    doomed.kill('SIGKILL');
    await doomed.exited;
    // The survivor's sweeper, driven here: the sweep that requeues the expired lease releases its reservation.
    const survivor = await context('worker');
    const sweep = await waitFor(
      async () => {
        const result = await survivor.sweeper!.sweepOnce();
        return result.expiredRequeued > 0 ? result : null;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the sweeper to find the lease expired' },
    );
    expect(sweep).toMatchObject({ expiredRequeued: 1, reservationsReleased: 1 });
    expect((await reservations(api().dataSource, experimentId)).filter((r) => r.holder === held.lease_owner)).toEqual(
      [],
    );

    // The survivor runs it again: its own call reserves and settles; nothing stays reserved.
    const run = await runIn(api().dataSource, id, ['completed', 'failed'], 30_000);
    expect(run).toMatchObject({ status: 'completed', attempt: 1, output: 'echo: slow 1' });
    expect(h.fake.requests).toHaveLength(2);
    const after = await spend(api().dataSource, experimentId);
    expect(after).toMatchObject({ reserved: 0, rows: 0, judge: 0 });
    // Only the call that answered is paid; the dead one's estimate no longer counts.
    expect(after.cost).toBeCloseTo(Number(run.cost_estimate), 12);
    expect(after.cost).toBeLessThan(reservation.amount_usd);
  });

  it('a judge reservation nobody settles (its worker died mid-call) is released within one lease period', async () => {
    // The judge's first call hangs; the worker is killed during it. The run is completed but not scored.
    h.fake.setResponder((req) =>
      req.model === 'paid-judge'
        ? h.fake.requests.filter((r) => r.model === 'paid-judge').length === 1
          ? { delayMs: 60_000 }
          : { output: '{"score": 1, "reason": "fine"}' }
        : undefined,
    );
    // A provider timeout far beyond this test: the reservation must not wait for it, only for the
    // lease period (1.5 s) its process no longer renews.
    const doomed = await worker({ PROVIDER_TIMEOUT_MS: '600000' });
    const experimentId = await budgetedExperiment({
      scorers: [{ name: 'judge', type: 'llm_judge', params: { model: JUDGE_MODEL, rubric: 'Good? {{output}}' } }],
    });
    const [id] = await insertRuns(api().dataSource, experimentId, h.projectId, [
      { prompt: 'judged {{n}}', model: RUN_MODEL, input_data: { n: 2 }, params: { max_tokens: 20 } },
    ]);
    await api().dispatcher.dispatch([id]);
    await waitFor(
      async () => {
        const rows = await reservations(api().dataSource, experimentId);
        return rows.length === 1 && rows[0].kind === 'judge' && h.fake.requests.some((r) => r.model === 'paid-judge');
      },
      { what: 'the child worker to be waiting for the judge' },
    );
    const [judgeReservation] = await reservations(api().dataSource, experimentId);
    expect(judgeReservation).toMatchObject({ run_id: id, holder: null });
    // Leased, not bounded by the provider timeout: it never expires more than one lease period from now.
    expect(await expiresInMs(api().dataSource, experimentId)).toBeLessThanOrEqual(1500);
    const runCost = Number((await runRow(api().dataSource, id)).cost_estimate);
    expect(await spend(api().dataSource, experimentId)).toMatchObject({
      reserved: judgeReservation.amount_usd,
      cost: runCost,
      judge: 0,
    });

    doomed.kill('SIGKILL');
    await doomed.exited;
    const survivor = await context('worker');
    // The sweeps score the run late (a new judge call, settled) and release the dead call's reservation
    // once its lease passed; until then it still counts.
    let released = 0;
    await waitFor(
      async () => {
        released += (await survivor.sweeper!.sweepOnce()).reservationsReleased;
        return released > 0;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the expired judge reservation to be released' },
    );
    expect(released).toBe(1);
    const after = await waitFor(
      async () => {
        const s = await spend(api().dataSource, experimentId);
        return s.judge > 0 && s.rows === 0 ? s : null;
      },
      { timeoutMs: 30_000, what: 'the late judge call to be settled' },
    );
    expect(after).toMatchObject({ reserved: 0, rows: 0, rows_sum: 0, cost: runCost });
    expect(h.fake.requests.filter((r) => r.model === 'paid-judge')).toHaveLength(2);
    expect(await judgeScores(api().dataSource, id)).toEqual([{ value: 1 }]);
  });

  it('a live process renews the reservation of a judge call that outlasts several lease periods', async () => {
    // The judge answers after 8 s: more than five lease periods of 1.5 s.
    h.fake.setResponder((req) =>
      req.model === 'paid-judge' ? { delayMs: 8000, output: '{"score": 1, "reason": "fine"}' } : undefined,
    );
    const live = await context('worker');
    const experimentId = await budgetedExperiment({
      scorers: [{ name: 'judge', type: 'llm_judge', params: { model: JUDGE_MODEL, rubric: 'Good? {{output}}' } }],
    });
    const [id] = await insertRuns(api().dataSource, experimentId, h.projectId, [
      { prompt: 'slow judge {{n}}', model: RUN_MODEL, input_data: { n: 3 }, params: { max_tokens: 20 } },
    ]);
    await api().dispatcher.dispatch([id]);
    const [reservation] = await waitFor(
      async () => {
        const rows = await reservationRows(api().dataSource, experimentId);
        return rows.length === 1 && rows[0].kind === 'judge' ? rows : null;
      },
      { what: 'the judge call to be in flight' },
    );
    // Sweep until the reservation is older than two lease periods: without renewals it would have expired.
    // Every sweep must leave it in place, its expiry must have moved forward, and no sweep may score the
    // run (completed and unscored for longer than a lease) while its judge call is in flight.
    let released = 0;
    let scoredLate = 0;
    const old = await waitFor(
      async () => {
        const sweep = await live.sweeper!.sweepOnce();
        released += sweep.reservationsReleased;
        scoredLate += sweep.unscoredScored;
        const [row] = await reservationRows(api().dataSource, experimentId);
        return row && row.age_ms > 3000 ? row : null;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the judge reservation to outlive two lease periods' },
    );
    expect({ released, scoredLate }).toEqual({ released: 0, scoredLate: 0 });
    expect(old.id).toBe(reservation.id);
    expect(old.expires_at_ms).toBeGreaterThan(reservation.expires_at_ms);
    expect(await expiresInMs(api().dataSource, experimentId)).toBeGreaterThan(0);

    // The judge answers: its settle replaces the reservation with the real cost; the run is scored once.
    const after = await waitFor(
      async () => {
        const s = await spend(api().dataSource, experimentId);
        return s.judge > 0 && s.rows === 0 ? s : null;
      },
      { timeoutMs: 30_000, what: 'the slow judge call to be settled' },
    );
    expect(after).toMatchObject({ reserved: 0, rows_sum: 0 });
    expect(h.fake.requests.filter((r) => r.model === 'paid-judge')).toHaveLength(1);
    expect(await judgeScores(api().dataSource, id)).toEqual([{ value: 1 }]);
  });
});
