/**
 * Dataset uploads and dataset-experiment launches at scale (not a test): `npm run bench:datasets`.
 *
 * Starts the real API (AppModule, HTTP on a loopback port) on an embedded PostgreSQL, then
 * - uploads 100,000 and 1,000,000 NDJSON items (and the same items as CSV) over HTTP to
 *   POST /api/datasets/{id}/versions, the body generated on the fly and streamed (the client holds
 *   one chunk), and prints the median time and the peak RSS growth of this process (the server's
 *   memory: the client side is a generator) over its level before the upload; flat from 100,000 to
 *   1,000,000 items means the upload's memory does not grow with its size;
 * - launches experiments over a 100,000-item dataset version (1 prompt × 1 model: 100,000 runs) and
 *   prints the median time to the 202 and the peak RSS growth; and, for the ratio, a 2,000-item
 *   dataset experiment against the same 2,000 items given inline (2,000 such items, about 0.7 MB,
 *   fit the 1 MiB JSON body).
 *
 * Runs are handed to a counting no-op dispatcher, so execution does not compete with the measurement.
 * Environment: BENCH_REPEAT (default 3), BENCH_ITEMS (default 1000000: the large upload), BENCH_SMALL
 * (default 100000: the small upload), BENCH_LAUNCH_ITEMS (default 100000: the launched dataset),
 * BENCH_ONLY (ndjson, csv or launch), BENCH_LIVE_HEAP=1 (also the live heap, sampled after full GCs),
 * BENCH_DATABASE_URL (an empty database instead of an embedded PostgreSQL).
 */
import { openBenchDatabase } from './support/database';
import { request as httpRequest } from 'http';
import { type AddressInfo } from 'net';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
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

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const LARGE = Math.max(1000, Number(process.env.BENCH_ITEMS ?? 1_000_000));
const SMALL = Math.max(1000, Number(process.env.BENCH_SMALL ?? 100_000));
const LAUNCH_ITEMS = Math.max(1000, Number(process.env.BENCH_LAUNCH_ITEMS ?? 100_000));
const LIVE_HEAP = process.env.BENCH_LIVE_HEAP === '1';
/** Which parts run: BENCH_ONLY=ndjson, csv or launch (default: all). */
const ONLY = process.env.BENCH_ONLY ?? 'all';

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

/** About 300 bytes an item, as a support-ticket dataset. */
function item(i: number): Record<string, unknown> {
  return {
    id: `ticket-${i}`,
    ticket: `Ticket ${i}: the customer reports that the invoice export fails with a timeout after the last upgrade; they ask for a refund of the month and a call back from the billing team before Friday.`,
    product: ['billing', 'exports', 'auth'][i % 3],
    expected: 'refund',
  };
}

function csvField(v: unknown): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The body, produced in chunks of 1,000 lines as it is read: the client never holds it. */
function* body(format: 'ndjson' | 'csv', count: number): Generator<string> {
  if (format === 'csv') yield 'id,ticket,product,expected\r\n';
  for (let start = 0; start < count; start += 1000) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      const it = item(i);
      lines.push(format === 'csv' ? Object.values(it).map(csvField).join(',') + '\r\n' : JSON.stringify(it) + '\n');
    }
    yield lines.join('');
  }
}

interface ApiBody {
  id: string;
  access_token: string;
  runs_created: number;
  item_count: number;
  version: number;
}

async function api(
  base: string,
  method: string,
  path: string,
  token: string | null,
  payload?: unknown,
): Promise<{ status: number; body: ApiBody }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as ApiBody };
}

/** Streams a generated upload (chunked) and answers the server's status and body. */
function upload(
  port: number,
  token: string,
  datasetId: string,
  format: 'ndjson' | 'csv',
  count: number,
): Promise<{ status: number; body: ApiBody }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/datasets/${datasetId}/versions`,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ApiBody });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    pipeline(Readable.from(body(format, count)), req).catch(reject);
  });
}

/**
 * Runs `work` while sampling RSS every 5 ms and, with BENCH_LIVE_HEAP=1, the heap right after a full GC
 * every 2 s (live memory, garbage excluded; the GCs slow the work down); answers its time and the
 * peak growths over the start.
 */
async function measured<T>(
  work: () => Promise<T>,
): Promise<{ ms: number; rssGrowth: number; liveGrowth: number | null; result: T }> {
  gc();
  const before = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  let peak = before;
  let peakLive = heapBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const live = LIVE_HEAP
    ? setInterval(() => {
        gc();
        peakLive = Math.max(peakLive, process.memoryUsage().heapUsed);
      }, 2000)
    : null;
  const start = process.hrtime.bigint();
  try {
    const result = await work();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    peak = Math.max(peak, process.memoryUsage().rss);
    return { ms, rssGrowth: peak - before, liveGrowth: LIVE_HEAP ? peakLive - heapBefore : null, result };
  } finally {
    clearInterval(sampler);
    if (live) clearInterval(live);
  }
}

async function main(): Promise<void> {
  const db = await openBenchDatabase('datasets', { database: 'bench' });
  const url = db.url;
  const migrator = new DataSource(typeOrmOptions(url, { extra: { max: 2 } }));
  await migrator.initialize();
  await runMigrationsLocked(migrator);
  await migrator.destroy();

  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: url,
    JWT_SECRET: 'bench-secret-0123456789abcdef',
    SECRETS_KEY: Buffer.alloc(32, 'bench').toString('base64'),
    AUTH_THROTTLE_LIMIT: '100000',
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'warn',
  });
  const dispatcher = new CountingDispatcher();
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
    .overrideProvider(RunDispatcher)
    .useValue(dispatcher)
    .compile();
  const app: INestApplication = moduleRef.createNestApplication<NestExpressApplication>({
    bodyParser: false,
    logger: ['error', 'warn'],
  });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as { requestTimeout: number; address(): AddressInfo };
  server.requestTimeout = 0; // a 300 MB upload on a loaded machine may take longer than Node's default 300 s
  const port = server.address().port;
  const base = `http://127.0.0.1:${port}`;
  const ds = app.get(DataSource);

  try {
    const [{ server_version: version }] = await ds.query('SHOW server_version');
    log(`PostgreSQL ${version}; Node ${process.version}; ${REPEAT} repetitions per figure`);
    const email = `bench-${Date.now()}@example.com`;
    await api(base, 'POST', '/api/auth/register', null, { email, password: 'bench-password' });
    const token = (await api(base, 'POST', '/api/auth/login', null, { email, password: 'bench-password' })).body
      .access_token;
    const me = await fetch(`${base}/api/projects`, { headers: { authorization: `Bearer ${token}` } });
    const projects = (await me.json()) as { items: Array<{ id: string }> } | Array<{ id: string }>;
    const projectId = (Array.isArray(projects) ? projects : projects.items)[0].id;
    let n = 0;
    const newDataset = async (): Promise<string> => {
      const res = await api(base, 'POST', `/api/projects/${projectId}/datasets`, token, { name: `bench-${n++}` });
      if (res.status !== 201) throw new Error(`dataset: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id;
    };

    /** Uploads `count` items `REPEAT` times (a fresh dataset each), prints median time and RSS growth. */
    const uploads = async (format: 'ndjson' | 'csv', count: number): Promise<string> => {
      const times: number[] = [];
      const growth: number[] = [];
      const liveGrowth: number[] = [];
      let last = '';
      for (let i = 0; i < REPEAT; i++) {
        const id = await newDataset();
        const m = await measured(() => upload(port, token, id, format, count));
        if (m.result.status !== 201 || m.result.body.item_count !== count)
          throw new Error(`upload: ${m.result.status} ${JSON.stringify(m.result.body)}`);
        times.push(m.ms);
        growth.push(m.rssGrowth);
        if (m.liveGrowth !== null) liveGrowth.push(m.liveGrowth);
        if (last) await api(base, 'DELETE', `/api/datasets/${last}`, token);
        last = id;
      }
      log(
        `upload ${format} of ${count.toLocaleString('en')} items: median ${fmt(median(times))} ` +
          `(${times.map((t) => t.toFixed(0)).join(', ')} ms), ${((count / median(times)) * 1000).toFixed(0)} items/s; ` +
          `peak RSS growth median ${mb(median(growth))} (${growth.map(mb).join(', ')})` +
          (liveGrowth.length > 0 ? `; peak live heap growth median ${mb(median(liveGrowth))}` : ''),
      );
      return last;
    };

    const launcher = app.get(ExperimentLaunchService);
    const launches = async (label: string, cfg: Record<string, unknown>, runs: number): Promise<number> => {
      const times: number[] = [];
      const growth: number[] = [];
      for (let i = 0; i <= REPEAT; i++) {
        const created = await api(base, 'POST', '/api/experiments', token, { name: 'bench', config: cfg });
        if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
        const m = await measured(() =>
          api(base, 'POST', `/api/experiments/${created.body.id}/launch`, token, { max_runs: runs }),
        );
        if (m.result.status !== 202 || m.result.body.runs_created !== runs)
          throw new Error(`launch: ${m.result.status} ${JSON.stringify(m.result.body)}`);
        await launcher.whenDispatched();
        if (i > 0) {
          // The first launch warms up; every launch meets the same table: earlier grids are removed.
          times.push(m.ms);
          growth.push(m.rssGrowth);
        }
        await api(base, 'DELETE', `/api/experiments/${created.body.id}`, token);
      }
      log(
        `launch ${label}: time to 202 median ${fmt(median(times))} (${times.map((t) => t.toFixed(0)).join(', ')} ms); ` +
          `peak RSS growth median ${mb(median(growth))}`,
      );
      return median(times);
    };

    if (ONLY === 'all' || ONLY === 'ndjson') {
      await uploads('ndjson', SMALL);
      await api(base, 'DELETE', `/api/datasets/${await uploads('ndjson', LARGE)}`, token);
    }
    if (ONLY === 'all' || ONLY === 'csv') {
      await uploads('csv', SMALL);
      await api(base, 'DELETE', `/api/datasets/${await uploads('csv', LARGE)}`, token);
    }
    if (ONLY !== 'all' && ONLY !== 'launch') return;

    const prompt = 'Summarise this support ticket for the {{product}} team: {{ticket}}';
    const hundredK = await newDataset();
    await upload(port, token, hundredK, 'ndjson', LAUNCH_ITEMS);
    await launches(
      `over a ${LAUNCH_ITEMS.toLocaleString('en')}-item dataset (1 prompt × 1 model)`,
      {
        prompts: [prompt],
        models: ['mock:echo'],
        dataset: { id: hundredK },
      },
      LAUNCH_ITEMS,
    );

    const fiveK = await newDataset();
    await upload(port, token, fiveK, 'ndjson', 2_000);
    const viaDataset = await launches(
      'over a 2,000-item dataset',
      {
        prompts: [prompt],
        models: ['mock:echo'],
        dataset: { id: fiveK },
      },
      2_000,
    );
    const inline = await launches(
      'of the same 2,000 items inline',
      {
        prompts: [prompt],
        models: ['mock:echo'],
        inputs: Array.from({ length: 2_000 }, (_, i) => item(i)),
      },
      2_000,
    );
    log(`dataset / inline launch time at 2,000 items: ${(viaDataset / inline).toFixed(2)}`);
    log(`dispatched ${dispatcher.dispatched} run ids in total (no-op dispatcher)`);
  } finally {
    await app.close();
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
