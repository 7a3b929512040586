/**
 * What budget reservations cost per provider call (not a test): `npm run bench:budgets`.
 *
 * Every provider call of a run or judge reserves its estimate before the call and settles it after
 * (src/experiments/experiment-budgets.ts): the reserve statement locks the experiment's row, adds
 * to its reserved spend and INSERTs a `spend_reservations` row; the settle statement DELETEs that
 * row and moves the amount to the real cost. This bench drives the real ExperimentBudgets with C
 * concurrent callers, each doing reserve → settle in a loop (no provider in between: the pure
 * bookkeeping), and prints µs per call (wall ÷ calls) and calls/s for:
 * - `rows, budget`: an experiment with a budget (the normal path);
 * - `rows, no budget`: an experiment without one (the same statements; nothing is refused);
 * - `baseline, no rows`: the same two statements through the same group commit, minus the
 *   reservation row (no INSERT, no DELETE): the accounting before reservations were rows.
 * The variants alternate within each repetition, so they see the same machine; medians of BENCH_REPEAT.
 *
 * Environment: BENCH_CALLS (default 20000), BENCH_CONCURRENCY (default 32), BENCH_REPEAT (default 5),
 * BENCH_DATABASE_URL (an empty database instead of an embedded PostgreSQL).
 */
import { openBenchDatabase } from './support/database';
import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { GroupCommit } from '../src/common/group-commit';
import { loadConfig } from '../src/config/configuration';
import { runMigrationsLocked } from '../src/database/migrate';
import { typeOrmOptions } from '../src/database/typeorm-options';
import { type RunEventsService } from '../src/events/run-events.service';
import { ExperimentBudgets } from '../src/experiments/experiment-budgets';
import { type RunRepository } from '../src/runs/run.repository';
import { type SpendTarget } from '../src/providers/spend-ledger';

const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 5));
/** An estimate and a real cost of the size of a short call of a priced model. */
const ESTIMATE = 0.0042;
const COST = 0.0017;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const log = (msg: string): void => console.log(`[bench] ${msg}`);

interface Ledger {
  reserve(target: SpendTarget, estimateUsd: number): Promise<string | null>;
  settle(target: SpendTarget, reservationId: string, costUsd: number): Promise<void>;
}

/** The reserve and settle statements of ExperimentBudgets without the reservation row. */
function rowless(ds: DataSource, experimentId: string): Ledger {
  const batching = { maxRows: 64, maxInFlight: 1 };
  const reserve = new GroupCommit<number, string | null>(async (amounts) => {
    const rows: { ok: boolean }[] = await ds.query(
      `WITH req AS (
         SELECT r.i, r.amount, sum(r.amount) OVER (ORDER BY r.i) AS cum
           FROM unnest($2::numeric[]) WITH ORDINALITY AS r(amount, i)
       ), locked AS (
         SELECT budget_usd, status, spend_cost_usd + spend_judge_usd + spend_reserved_usd AS used
           FROM experiments WHERE id = $1 FOR UPDATE
       ), ok AS (
         SELECT req.* FROM req, locked
          WHERE locked.budget_usd IS NULL
             OR (locked.status <> 'cancelled' AND locked.used + req.cum <= locked.budget_usd)
       ), reserved AS (
         UPDATE experiments SET spend_reserved_usd = spend_reserved_usd + (SELECT sum(amount) FROM ok)
          WHERE id = $1 AND EXISTS (SELECT 1 FROM ok)
         RETURNING id
       )
       SELECT ok.i IS NOT NULL AS ok FROM req LEFT JOIN ok ON ok.i = req.i, (SELECT count(*) FROM reserved) AS written
        ORDER BY req.i`,
      [experimentId, amounts],
    );
    return rows.map((row) => (row.ok ? randomUUID() : null));
  }, batching);
  const settle = new GroupCommit<{ estimate: number; cost: number }, boolean>(async (batch) => {
    await ds.query(
      `UPDATE experiments
          SET spend_reserved_usd = GREATEST(spend_reserved_usd - $2::numeric, 0),
              spend_cost_usd = spend_cost_usd + $3::numeric
        WHERE id = $1
       RETURNING budget_usd IS NOT NULL AND spend_cost_usd + spend_judge_usd >= budget_usd AS exhausted`,
      [experimentId, batch.reduce((s, b) => s + b.estimate, 0), batch.reduce((s, b) => s + b.cost, 0)],
    );
    return batch.map(() => false);
  }, batching);
  return {
    reserve: (_target, estimateUsd) => reserve.submit(estimateUsd),
    settle: async (_target, _id, costUsd) => void (await settle.submit({ estimate: ESTIMATE, cost: costUsd })),
  };
}

/** C callers, CALLS reserve → settle pairs in all; the wall time in ms. */
async function drive(ledger: Ledger, experimentId: string): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) {
        next++;
        const target: SpendTarget = { experimentId, kind: 'run', runId: randomUUID(), holder: 'bench#1' };
        const id = await ledger.reserve(target, ESTIMATE);
        if (id === null) throw new Error('a reservation was refused: the bench budget is too small');
        await ledger.settle(target, id, COST);
      }
    }),
  );
  return performance.now() - started;
}

async function main(): Promise<void> {
  const db = await openBenchDatabase('budgets');
  const databaseUrl = db.url;
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    JWT_SECRET: 'bench-secret-0123456789',
    SECRETS_KEY: Buffer.alloc(32, 'bench').toString('base64'),
    LOG_LEVEL: 'error',
  });
  const ds = new DataSource(typeOrmOptions(databaseUrl, {}));
  await ds.initialize();
  try {
    await runMigrationsLocked(ds);
    const [project] = await ds.query(`INSERT INTO projects (name) VALUES ('bench') RETURNING id`);
    const experiment = async (budget: number | null): Promise<string> => {
      const [row] = await ds.query(
        `INSERT INTO experiments (project_id, name, config, status, launched_at, budget_usd)
         VALUES ($1, 'bench', '{}'::jsonb, 'running', now(), $2) RETURNING id`,
        [project.id, budget],
      );
      return row.id as string;
    };
    // Only stop() uses the events and the run repository; these budgets are never exhausted.
    const budgets = new ExperimentBudgets(
      ds,
      {} as unknown as RunEventsService,
      {} as unknown as RunRepository,
      config,
    );
    const variants: Array<{ name: string; make: () => Promise<[Ledger, string]> }> = [
      { name: 'rows, budget', make: async () => [budgets, await experiment(1e9)] },
      { name: 'rows, no budget', make: async () => [budgets, await experiment(null)] },
      {
        name: 'baseline, no rows',
        make: async () => {
          const id = await experiment(1e9);
          return [rowless(ds, id), id];
        },
      },
    ];
    const walls = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    for (const v of variants) {
      const [ledger, id] = await v.make();
      await drive(ledger, id); // warm-up
    }
    for (let r = 0; r < REPEAT; r++) {
      for (const v of variants) {
        const [ledger, id] = await v.make();
        const wall = await drive(ledger, id);
        walls.get(v.name)!.push(wall);
        const [check] = await ds.query(
          `SELECT spend_reserved_usd::float8 AS reserved, spend_cost_usd::float8 AS cost,
                  (SELECT count(*)::int FROM spend_reservations WHERE experiment_id = $1) AS rows
             FROM experiments WHERE id = $1`,
          [id],
        );
        // Every call settled: nothing reserved, no row left, every cost counted.
        if (check.reserved !== 0 || check.rows !== 0 || Math.abs(check.cost - CALLS * COST) > 1e-6)
          throw new Error(`${v.name}: books do not balance: ${JSON.stringify(check)}`);
        log(`${v.name} #${r + 1}: ${wall.toFixed(0)} ms`);
      }
    }
    budgets.onModuleDestroy();
    const base = median(walls.get('baseline, no rows')!);
    const lines = variants.map((v) => {
      const xs = walls.get(v.name)!;
      const m = median(xs);
      return (
        `${v.name.padEnd(18)} median ${m.toFixed(0)} ms (${xs.map((w) => w.toFixed(0)).join(', ')}): ` +
        `${((m * 1000) / CALLS).toFixed(1)} µs/call, ${((CALLS * 1000) / m).toFixed(0)} calls/s, ` +
        `${(m / base).toFixed(2)}× baseline`
      );
    });
    console.log(
      ['', `budgets: ${CALLS} reserve+settle pairs, concurrency ${CONCURRENCY}, median of ${REPEAT}`, ...lines].join(
        '\n',
      ),
    );
  } finally {
    await ds.destroy();
    await db.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
