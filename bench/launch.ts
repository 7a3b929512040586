/**
 * Experiment launch, export and delete at scale (not a test): `npm run bench:launch`.
 *
 * Starts the real API (AppModule, HTTP on a loopback port) on an embedded PostgreSQL, then
 * - launches 10,000- and 100,000-run grids over HTTP (POST /api/experiments/:id/launch), each on a
 *   fresh experiment, and prints the median wall time of the request (expansion, config hashes,
 *   batched INSERTs in one transaction, dispatch);
 *   (earlier grids are deleted between launches, and the deletions timed);
 * - marks a 10,000- and a 100,000-run experiment completed with outputs and two scores per run
 *   (SQL), streams GET /api/experiments/:id/export (csv and jsonl) while sampling this process's
 *   memory every 5 ms, and prints peak RSS / heap growth over the level before the export and the
 *   heap left after a GC: flat from 10,000 to 100,000 runs means constant memory;
 * - deletes the completed 100,000-run experiment with its scores and prints the time.
 *
 * BENCH_DISPATCH picks what the launch hands its runs to: `noop` (default; a counting no-op, so
 * execution does not compete with the measurement), `bull` (a private redis-server is started and
 * the app is an API process of the distributed mode: the launch includes the Bull addBulk of
 * every run, nothing executes), `app` (the app's own dispatcher: embedded mode, runs execute in
 * this process while the next launches are measured).
 * Environment: BENCH_REPEAT (default 5), BENCH_DATABASE_URL (an empty database instead of an
 * embedded PostgreSQL), BENCH_DISPATCH, BENCH_ONLY=export (skip the launch series) or launch (only it).
 */
import { openBenchDatabase } from './support/database';
import { type AddressInfo } from 'net';
import { setFlagsFromString } from 'v8';
import { runInNewContext } from 'vm';
import { type INestApplication } from '@nestjs/common';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AppModule } from '../src/app.module';
import { loadConfig } from '../src/config/configuration';
import { configureApp } from '../src/configure-app';
import { runMigrationsLocked } from '../src/database/migrate';
import { typeOrmOptions } from '../src/database/typeorm-options';
import { RunDispatcher } from '../src/runs/run-dispatcher';
import { ExperimentLaunchService } from '../src/experiments/experiment-launch.service';
import { startRedis } from '../test/support/redis';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const REPEAT = Math.max(3, Number(process.env.BENCH_REPEAT ?? 5));
const DISPATCH = (process.env.BENCH_DISPATCH ?? 'noop') as 'noop' | 'bull' | 'app';
if (!['noop', 'bull', 'app'].includes(DISPATCH)) throw new Error('BENCH_DISPATCH must be noop, bull or app');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const log = (msg: string): void => console.log(`[bench] ${msg}`);

class CountingDispatcher extends RunDispatcher {
  dispatched = 0;
  dispatch(runIds: string[]): Promise<void> {
    this.dispatched += runIds.length;
    return Promise.resolve();
  }
  health(): Promise<'inline'> {
    return Promise.resolve('inline');
  }
}

/** A grid of prompts × 1 model × `temps` temperatures × `inputs` inputs × `reps` repetitions. */
function grid(inputs: number, temps: number, reps: number): Record<string, unknown> {
  return {
    prompts: [
      'Summarise this support ticket in one sentence: {{ticket}}',
      'TL;DR for the on-call engineer ({{product}}): {{ticket}}',
    ],
    models: ['mock:echo'],
    params: { temperature: Array.from({ length: temps }, (_, i) => i / 10), max_tokens: 256 },
    inputs: Array.from({ length: inputs }, (_, i) => ({
      ticket: `Ticket ${i}: the customer reports that the invoice export fails with a timeout after the last upgrade; they ask for a refund of the month.`,
      product: ['billing', 'exports', 'auth'][i % 3],
      expected: 'refund',
    })),
    repetitions: reps,
  };
}

/** The fields of the answers this bench reads. */
interface ApiBody {
  id: string;
  access_token: string;
  runs_created: number;
}

async function api(
  base: string,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<{ status: number; body: ApiBody }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as ApiBody };
}

async function main(): Promise<void> {
  const db = await openBenchDatabase('launch', { database: 'bench' });
  const url = db.url;
  const migrator = new DataSource(typeOrmOptions(url, { extra: { max: 2 } }));
  await migrator.initialize();
  await runMigrationsLocked(migrator);
  await migrator.destroy();

  const redis = DISPATCH === 'bull' ? await startRedis() : null;
  const config = loadConfig({
    ...(redis ? { REDIS_URL: redis.url } : {}),
    NODE_ENV: 'test',
    DATABASE_URL: url,
    JWT_SECRET: 'bench-secret-0123456789abcdef',
    SECRETS_KEY: Buffer.alloc(32, 'bench').toString('base64'),
    AUTH_THROTTLE_LIMIT: '100000',
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'warn',
  });
  const dispatcher = new CountingDispatcher();
  let builder = Test.createTestingModule({ imports: [AppModule.forRoot(config)] });
  if (DISPATCH === 'noop') builder = builder.overrideProvider(RunDispatcher).useValue(dispatcher);
  const moduleRef = await builder.compile();
  const app: INestApplication = moduleRef.createNestApplication<NestExpressApplication>({
    bodyParser: false,
    logger: ['error', 'warn'],
  });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  const ds = app.get(DataSource);

  try {
    const [{ server_version: version }] = await ds.query('SHOW server_version');
    log(`PostgreSQL ${version}; Node ${process.version}; dispatch: ${DISPATCH}; ${REPEAT} launches per size`);
    const email = `bench-${Date.now()}@example.com`;
    await api(base, 'POST', '/api/auth/register', null, { email, password: 'bench-password' });
    const token = (await api(base, 'POST', '/api/auth/login', null, { email, password: 'bench-password' })).body
      .access_token;

    const launcher = app.get(ExperimentLaunchService);
    /** Time of the launch request, and until its runs were handed to the dispatcher (after the answer). */
    const launchOnce = async (
      cfg: Record<string, unknown>,
      maxRuns: number,
    ): Promise<{ ms: number; dispatchedMs: number; id: string; created: number }> => {
      const created = await api(base, 'POST', '/api/experiments', token, { name: 'bench', config: cfg });
      if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
      const start = process.hrtime.bigint();
      const res = await api(base, 'POST', `/api/experiments/${created.body.id}/launch`, token, { max_runs: maxRuns });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (res.status !== 202) throw new Error(`launch: ${res.status} ${JSON.stringify(res.body)}`);
      await launcher.whenDispatched();
      const dispatchedMs = Number(process.hrtime.bigint() - start) / 1e6;
      return { ms, dispatchedMs, id: created.body.id, created: res.body.runs_created };
    };

    const sizes = [
      { label: '10,000-run grid (2 prompts × 10 temperatures × 500 inputs)', cfg: grid(500, 10, 1), runs: 10_000 },
      {
        label: '100,000-run grid (2 prompts × 10 temperatures × 500 inputs × 10 repetitions)',
        cfg: grid(500, 10, 10),
        runs: 100_000,
      },
    ];
    let keep: string | null = null;
    for (const size of process.env.BENCH_ONLY === 'export' ? [] : sizes) {
      const warm = await launchOnce(size.cfg, size.runs); // warm-up
      await api(base, 'DELETE', `/api/experiments/${warm.id}`, token);
      const times: number[] = [];
      const dispatched: number[] = [];
      const deletes: number[] = [];
      for (let i = 0; i < REPEAT; i++) {
        const r = await launchOnce(size.cfg, size.runs);
        if (r.created !== size.runs) throw new Error(`expected ${size.runs} runs, got ${r.created}`);
        times.push(r.ms);
        dispatched.push(r.dispatchedMs);
        if (i === REPEAT - 1 && size.runs === 100_000) {
          keep = r.id;
        } else {
          // Every launch meets the same table: earlier grids are removed (and their deletion timed).
          const start = process.hrtime.bigint();
          const del = await api(base, 'DELETE', `/api/experiments/${r.id}`, token);
          if (del.status !== 204) throw new Error(`delete: ${del.status}`);
          deletes.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
      }
      log(`launch ${size.label}: median ${fmt(median(times))} (${times.map((t) => t.toFixed(0)).join(', ')} ms)`);
      log(
        `  until every run was dispatched (after the 202): median ${fmt(median(dispatched))} (${dispatched.map((t) => t.toFixed(0)).join(', ')} ms)`,
      );
      log(
        `  delete of such a pending experiment: median ${fmt(median(deletes))} (${deletes.map((t) => t.toFixed(0)).join(', ')} ms)`,
      );
    }

    if (process.env.BENCH_ONLY === 'launch') return;

    // Completed runs with outputs and two scores each, as an executed experiment would have.
    const complete = async (experimentId: string): Promise<void> => {
      await ds.query(
        `UPDATE runs SET status = 'completed', started_at = now(), completed_at = now(), duration_ms = 100 + (random() * 900)::int,
                output = config->>'prompt' || ' ' || (config->'input_data'->>'ticket'), tokens_in = 40, tokens_out = 40,
                cost_estimate = 0.0001234
          WHERE experiment_id = $1`,
        [experimentId],
      );
      await ds.query(
        `INSERT INTO scores (run_id, scorer_name, value, source)
         SELECT r.id, s.name, random(), 'auto' FROM runs r CROSS JOIN (VALUES ('has_refund'), ('matches')) s(name) WHERE r.experiment_id = $1`,
        [experimentId],
      );
      await ds.query(`UPDATE experiments SET scoring_config = $2::jsonb WHERE id = $1`, [
        experimentId,
        JSON.stringify({
          scorers: [
            { name: 'has_refund', type: 'contains', params: { value: 'refund' } },
            { name: 'matches', type: 'similarity', params: { expected_field: 'expected' } },
          ],
          weights: { has_refund: 1, matches: 3 },
        }),
      ]);
      await ds.query('ANALYZE runs; ANALYZE scores');
    };

    /** Streams an export; the client only counts bytes and lines. */
    const download = async (
      experimentId: string,
      format: string,
    ): Promise<{ status: number; bytes: number; lines: number; ms: number }> => {
      const start = process.hrtime.bigint();
      const res = await fetch(`${base}/api/experiments/${experimentId}/export?format=${format}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      let bytes = 0;
      let lines = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
      }
      return { status: res.status, bytes, lines, ms: Number(process.hrtime.bigint() - start) / 1e6 };
    };

    /** One timed download, then one while sampling this process's memory (the sampling's GCs would distort the time). */
    const measureExport = async (experimentId: string, label: string, format: string): Promise<void> => {
      const timed = await download(experimentId, format);
      gc();
      const before = process.memoryUsage();
      let peakRss = before.rss;
      let peakHeap = before.heapUsed;
      let peakLive = before.heapUsed;
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakHeap = Math.max(peakHeap, m.heapUsed);
      }, 5);
      // Live memory, garbage excluded: a full GC now and then, and the heap right after it.
      const liveSampler = setInterval(() => {
        gc();
        peakLive = Math.max(peakLive, process.memoryUsage().heapUsed);
      }, 250);
      await download(experimentId, format);
      clearInterval(sampler);
      clearInterval(liveSampler);
      gc();
      const after = process.memoryUsage();
      log(
        `export ${format} of ${label}: ${timed.status}, ${mb(timed.bytes)}, ${timed.lines} lines in ${fmt(timed.ms)}; ` +
          `peak RSS +${mb(peakRss - before.rss)}, peak heap +${mb(peakHeap - before.heapUsed)}, peak live heap +${mb(peakLive - before.heapUsed)}, ` +
          `heap after GC ${after.heapUsed >= before.heapUsed ? '+' : '-'}${mb(Math.abs(after.heapUsed - before.heapUsed))} ` +
          `(baseline RSS ${mb(before.rss)}, heap ${mb(before.heapUsed)})`,
      );
    };

    const small = (await launchOnce(sizes[0].cfg, sizes[0].runs)).id;
    const id = keep ?? (await launchOnce(sizes[1].cfg, sizes[1].runs)).id;
    await complete(small);
    await complete(id);
    for (const format of ['csv', 'jsonl']) {
      await measureExport(small, '10,000 runs', format);
      await measureExport(id, '100,000 runs', format);
    }

    const start = process.hrtime.bigint();
    const del = await api(base, 'DELETE', `/api/experiments/${id}`, token);
    log(
      `delete of the completed 100,000-run experiment with 200,000 scores: ${del.status} in ${fmt(Number(process.hrtime.bigint() - start) / 1e6)}`,
    );
    if (DISPATCH === 'noop') log(`dispatched ${dispatcher.dispatched} run ids in total (no-op dispatcher)`);
  } finally {
    await app.close();
    if (redis) await redis.stop();
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
