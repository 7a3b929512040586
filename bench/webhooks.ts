/**
 * Webhook delivery throughput and its cost to execution (not a test): `npm run bench:webhooks`.
 *
 * An experiment of BENCH_RUNS (default 10,000) `mock:echo` runs (latency BENCH_LATENCY_MS, default 0,
 * i.e. the executor's own overhead is all there is) executes twice per round: once with no
 * subscription (the baseline), once with a subscription to `run.completed` whose receiver is a
 * local HTTP server answering 204. BENCH_MODES (default `embedded,bull`) picks the wiring:
 * `embedded` is one process with inline execution and inline webhook delivery; `bull` is the
 * distributed mode on a private redis-server, an API context that enqueues the runs and a worker
 * context (the production worker's modules: execution and the `webhooks` queue's consumer), both in
 * this Node process.
 * Printed: execution wall time (dispatch → experiment completed) for both and their ratio, and
 * deliveries per second (first to last `run.completed` received, and dispatch to last received).
 * Medians of BENCH_REPEAT (default 3) rounds, baseline and subscribed alternating.
 *
 * Also printed: the CPU time each round cost (this process, which includes the receiver, plus every
 * PostgreSQL process of the cluster, from /proc). On a shared, loaded machine wall time swings with
 * the neighbours' work; CPU time per run is the steadier measure of what a subscription adds.
 */
import { execSync } from 'child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { firstValueFrom } from 'rxjs';
import { filter, take } from 'rxjs/operators';
import { DataSource } from 'typeorm';
import { coreImports } from '../src/database/core-imports';
import { loadConfig } from '../src/config/configuration';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { runMigrationsLocked } from '../src/database/migrate';
import { typeOrmOptions } from '../src/database/typeorm-options';
import { EventsModule } from '../src/events/events.module';
import { RunEventsService } from '../src/events/run-events.service';
import { ExecutionModule } from '../src/execution/execution.module';
import { RunDispatcher } from '../src/runs/run-dispatcher';
import { computeConfigHash } from '../src/domain/canonical-json';
import { type RunConfig } from '../src/domain/configs';
import { SecretBox } from '../src/security/secret-box';
import { secretAad } from '../src/webhooks/webhook-deliverer';
import { generateWebhookSecret } from '../src/webhooks/webhook-signature';
import { WebhooksModule } from '../src/webhooks/webhooks.module';
import { WorkerModule } from '../src/worker.module';
import { startRedis, type TestRedis } from '../test/support/redis';
import { startWebhookReceiver } from '../test/support/webhook-receiver';

const RUNS = Number(process.env.BENCH_RUNS ?? 10_000);
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 0);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const SECRETS_KEY = Buffer.alloc(32, 'bench').toString('base64');
const MODES = (process.env.BENCH_MODES ?? 'embedded,bull').split(',') as Array<'embedded' | 'bull'>;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const log = (msg: string): void => console.log(`[bench] ${msg}`);

const TICK_MS = 1000 / (Number(execSync('getconf CLK_TCK').toString().trim()) || 100);
/** utime, stime, cutime, cstime and ppid of a process (null once it is gone). */
function procStat(pid: string): { own: number; reaped: number; ppid: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}
/** CPU milliseconds the cluster used so far: the postmaster, its reaped children and its live ones. */
function postgresCpuMs(postmaster: number): number {
  const root = procStat(String(postmaster));
  if (!root) return 0;
  let ticks = root.own + root.reaped;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const child = procStat(name);
    if (child?.ppid === postmaster) ticks += child.own;
  }
  return ticks * TICK_MS;
}
const nodeCpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

@Module({ imports: [ExecutionModule] })
class DispatchingModule {}

/** The root of the Bull mode's worker context (its imports depend on the configuration). */
@Module({})
class BenchWorker {}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pl-bench-webhooks-'));
  chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: dir, port: 0, persistent: false });
  const receiver = await startWebhookReceiver();
  const migrator = new DataSource(typeOrmOptions(pg.url, { extra: { max: 2 } }));
  await migrator.initialize();
  await runMigrationsLocked(migrator);
  await migrator.destroy();
  const summary: string[] = [];
  try {
    for (const mode of MODES) summary.push(...(await measure(mode, pg, receiver)));
  } finally {
    await receiver.close();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(summary.join('\n'));
}

/** The rounds of one mode; the summary lines. */
async function measure(
  mode: 'embedded' | 'bull',
  pg: { url: string; pid: number },
  receiver: Awaited<ReturnType<typeof startWebhookReceiver>>,
): Promise<string[]> {
  let app: INestApplicationContext | null = null;
  let worker: INestApplicationContext | null = null;
  let redis: TestRedis | null = null;
  try {
    if (mode === 'bull') redis = await startRedis();
    const config = loadConfig({
      DATABASE_URL: pg.url,
      JWT_SECRET: 'bench-secret-0123456789',
      SECRETS_KEY,
      ALLOW_PRIVATE_URLS: 'true',
      LOG_LEVEL: 'error',
      WORKER_CONCURRENCY: String(CONCURRENCY),
      PROVIDER_CONCURRENCY: String(CONCURRENCY),
      ...(redis ? { REDIS_URL: redis.url } : {}),
    });
    @Module({
      imports: [
        ...(coreImports(config) ?? []),
        EventsModule,
        ExecutionModule.forRoot(config),
        // No routes (no auth modules here). Embedded: the delivery side, in process; Bull: the worker context delivers.
        ...(redis ? [] : [WebhooksModule.forRoot(config, { worker: true })]),
        DispatchingModule,
      ],
    })
    class BenchRoot {}
    app = await NestFactory.createApplicationContext(BenchRoot, { logger: ['error'] });
    await app.init();
    if (redis) {
      worker = await NestFactory.createApplicationContext(
        {
          module: BenchWorker,
          imports: [WorkerModule.forRoot(config), WebhooksModule.forRoot(config, { worker: true })],
        },
        { logger: ['error'] },
      );
      await worker.init();
    }
    const ds = app.get(DataSource);
    const dispatcher = app.select(DispatchingModule).get(RunDispatcher);
    const events = app.get(RunEventsService, { strict: false });
    const box = SecretBox.fromBase64(SECRETS_KEY);

    const round = async (subscribed: boolean, tag: string) => {
      const [project] = await ds.query(`INSERT INTO projects (name) VALUES ($1) RETURNING id`, [tag]);
      if (subscribed) {
        const [{ id }] = await ds.query(`SELECT gen_random_uuid() AS id`);
        await ds.query(
          `INSERT INTO webhook_subscriptions (id, project_id, url, events, secret_encrypted) VALUES ($1, $2, $3, $4, $5)`,
          [
            id,
            project.id,
            `${receiver.url}/${tag}`,
            ['run.completed'],
            box.seal(generateWebhookSecret(), secretAad(id)),
          ],
        );
      }
      const [experiment] = await ds.query(
        `INSERT INTO experiments (project_id, name, config, status, launched_at) VALUES ($1, $2, '{}'::jsonb, 'running', now()) RETURNING id`,
        [project.id, tag],
      );
      const configs: RunConfig[] = Array.from({ length: RUNS }, (_, i) => ({
        prompt: 'Echo {{i}} of {{tag}}',
        model: 'mock:echo',
        params: { mock_latency_ms: LATENCY },
        input_data: { i, tag },
      }));
      const rows: { id: string }[] = await ds.query(
        `INSERT INTO runs (experiment_id, project_id, config, config_hash)
         SELECT $1, $2, c, h FROM unnest($3::jsonb[], $4::text[]) AS t(c, h) RETURNING id`,
        [experiment.id, project.id, configs.map((c) => JSON.stringify(c)), configs.map((c) => computeConfigHash(c))],
      );
      await events.ensureSubscribed();
      const done = firstValueFrom(
        events.stream(experiment.id).pipe(
          filter((e) => e.type === 'experiment.status'),
          take(1),
        ),
      );
      const path = `/${tag}`;
      const arrivals: number[] = [];
      receiver.setResponder((hook) => {
        if (hook.path === path) arrivals.push(performance.now());
        return undefined;
      });
      const cpuBefore = { node: nodeCpuMs(), pg: postgresCpuMs(pg.pid) };
      const started = performance.now();
      await dispatcher.dispatch(rows.map((r) => r.id));
      await done;
      const execution = performance.now() - started;
      const cpu = () => ({
        node: (nodeCpuMs() - cpuBefore.node) / RUNS,
        pg: (postgresCpuMs(pg.pid) - cpuBefore.pg) / RUNS,
      });
      if (!subscribed) return { execution, deliveryRate: 0, endToEnd: 0, cpu: cpu() };
      const deadline = Date.now() + 600_000;
      while (arrivals.length < RUNS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (arrivals.length < RUNS) throw new Error(`only ${arrivals.length} of ${RUNS} deliveries arrived`);
      const span = arrivals[arrivals.length - 1] - arrivals[0];
      // CPU until the last delivery arrived: the whole cost of the subscription.
      return {
        execution,
        deliveryRate: ((RUNS - 1) * 1000) / span,
        endToEnd: arrivals[arrivals.length - 1] - started,
        cpu: cpu(),
      };
    };

    await round(false, `${mode}-warmup`);
    const base: number[] = [];
    const sub: number[] = [];
    const rates: number[] = [];
    const e2e: number[] = [];
    const cpuBase: number[] = [];
    const cpuSub: number[] = [];
    const cpuRatio: number[] = [];
    const wallRatio: number[] = [];
    for (let r = 0; r < REPEAT; r++) {
      const b = await round(false, `${mode}-base${r}`);
      const s = await round(true, `${mode}-sub${r}`);
      base.push(b.execution);
      sub.push(s.execution);
      rates.push(s.deliveryRate);
      e2e.push(s.endToEnd);
      const bc = b.cpu.node + b.cpu.pg;
      const sc = s.cpu.node + s.cpu.pg;
      cpuBase.push(bc);
      cpuSub.push(sc);
      cpuRatio.push(sc / bc);
      wallRatio.push(s.execution / b.execution);
      log(
        `${mode} round ${r}: baseline ${b.execution.toFixed(0)} ms, subscribed ${s.execution.toFixed(0)} ms ` +
          `(×${(s.execution / b.execution).toFixed(2)}), ${s.deliveryRate.toFixed(0)} deliveries/s, ` +
          `last delivery ${s.endToEnd.toFixed(0)} ms after dispatch; CPU per run ${bc.toFixed(2)} ms ` +
          `(node ${b.cpu.node.toFixed(2)} + postgres ${b.cpu.pg.toFixed(2)}) vs ${sc.toFixed(2)} ms ` +
          `(node ${s.cpu.node.toFixed(2)} + postgres ${s.cpu.pg.toFixed(2)}), ×${(sc / bc).toFixed(2)}`,
      );
    }
    return [
      '',
      `webhooks: ${RUNS} mock:echo runs (latency ${LATENCY} ms, concurrency ${CONCURRENCY}), ${mode === 'bull' ? 'Bull (distributed) mode' : 'embedded mode'}, median of ${REPEAT}`,
      `execution without a subscription: ${median(base).toFixed(0)} ms (${((RUNS * 1000) / median(base)).toFixed(0)} runs/s)`,
      `execution with run.completed subscribed: ${median(sub).toFixed(0)} ms (${((RUNS * 1000) / median(sub)).toFixed(0)} runs/s), ` +
        `ratio ${(median(sub) / median(base)).toFixed(2)} (median of per-round ratios ${median(wallRatio).toFixed(2)})`,
      `CPU per run (this process incl. the receiver + PostgreSQL): ${median(cpuBase).toFixed(2)} ms without, ` +
        `${median(cpuSub).toFixed(2)} ms with the subscription (to the last delivery), median ratio ${median(cpuRatio).toFixed(2)}`,
      `deliveries: ${median(rates).toFixed(0)} per second (first to last), last one ${median(e2e).toFixed(0)} ms after dispatch`,
    ];
  } finally {
    await worker?.close();
    await app?.close();
    await redis?.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
