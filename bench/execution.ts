/**
 * Execution throughput (not a test): `npm run bench:execution`.
 *
 * Runs N pending runs of `mock:echo` with `mock_latency_ms` = 0 and = 100 at a given concurrency,
 * in both modes — inline (the API process executes) and Bull (a redis-server this bench starts,
 * the API side enqueues, a worker context consumes) — and prints runs/s and the ratio of the wall
 * time to the floor N × latency ÷ concurrency (1.00 = no overhead at all). Every run has its own
 * input (no cache hits); the clock runs from dispatch until the experiment is completed and every
 * score is written, i.e. claim, provider call, completion write, scoring (BENCH_SCORERS scorers,
 * default 2: `contains` ones) and experiment completion included.
 *
 * The score read model's maintenance (ScoreReadModel.refresh inside every score write) is measured
 * against its absence in the same run: BENCH_READ_MODEL=both (default) alternates batches with
 * and without it (the "without" batches skip refresh, nothing else) and prints both medians and
 * the throughput ratio; `on` or `off` measures one side only.
 *
 * Environment: BENCH_RUNS (default 1000), BENCH_CONCURRENCY (default 32), BENCH_REPEAT (default 5,
 * the median is printed), BENCH_MODES (default `inline,bull`), BENCH_LATENCIES (default `0,100`),
 * BENCH_READ_MODEL (default `both`), BENCH_DATABASE_URL (an empty database instead of an embedded
 * PostgreSQL), REDIS_URL (an existing Redis instead of a private one).
 */
import { openBenchDatabase } from './support/database';
import { DynamicModule, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { firstValueFrom } from 'rxjs';
import { filter, take } from 'rxjs/operators';
import { DataSource } from 'typeorm';
import { coreImports } from '../src/database/core-imports';
import { AppConfig, loadConfig } from '../src/config/configuration';
import { runMigrationsLocked } from '../src/database/migrate';
import { typeOrmOptions } from '../src/database/typeorm-options';
import { EventsModule } from '../src/events/events.module';
import { RunEventsService } from '../src/events/run-events.service';
import { ExecutionModule } from '../src/execution/execution.module';
import { RunDispatcher } from '../src/runs/run-dispatcher';
import { WorkerModule } from '../src/worker.module';
import { computeConfigHash } from '../src/domain/canonical-json';
import { ScoreReadModel } from '../src/scoring/score-read-model';
import { RunConfig } from '../src/domain/configs';
import { startRedis, TestRedis } from '../test/support/redis';

const RUNS = Number(process.env.BENCH_RUNS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 5));
const MODES = (process.env.BENCH_MODES ?? 'inline,bull').split(',') as ('inline' | 'bull')[];
const LATENCIES = (process.env.BENCH_LATENCIES ?? '0,100').split(',').map(Number);
const SCORERS = Number(process.env.BENCH_SCORERS ?? 2);
const READ_MODEL = process.env.BENCH_READ_MODEL ?? 'both';
if (!['both', 'on', 'off'].includes(READ_MODEL)) throw new Error(`BENCH_READ_MODEL must be both, on or off`);
const SIDES: ('on' | 'off')[] = READ_MODEL === 'both' ? ['on', 'off'] : [READ_MODEL as 'on' | 'off'];
const SCORING_CONFIG = JSON.stringify({
  scorers: Array.from({ length: SCORERS }, (_, i) => ({
    name: `has_${i}`,
    type: 'contains',
    params: { value: i % 2 === 0 ? 'Echo' : 'of', case_sensitive: false },
  })),
});

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const log = (msg: string): void => console.log(`[bench] ${msg}`);

/**
 * The "off" side: every score write's read-model refresh is skipped (one process holds the API
 * and the worker contexts, so this reaches both). Everything else of the write path is unchanged.
 */
let maintainReadModel = true;
const refresh = ScoreReadModel.prototype.refresh;
ScoreReadModel.prototype.refresh = function (this: ScoreReadModel, ...args: Parameters<typeof refresh>) {
  return maintainReadModel ? refresh.apply(this, args) : Promise.resolve();
};

@Module({})
class DispatchingModule {}

@Module({})
class BenchRootModule {}

interface Side {
  app: INestApplicationContext;
  dataSource: DataSource;
  dispatcher: RunDispatcher;
  events: RunEventsService;
}

async function open(config: AppConfig, role: 'api' | 'worker'): Promise<Side> {
  const root: DynamicModule =
    role === 'worker'
      ? { module: BenchRootModule, imports: [WorkerModule.forRoot(config), DispatchingModule] }
      : {
          module: BenchRootModule,
          imports: [...coreImports(config), EventsModule, ExecutionModule.forRoot(config), DispatchingModule],
        };
  const app = await NestFactory.createApplicationContext(root, { logger: ['error'] });
  await app.init();
  return {
    app,
    dataSource: app.get(DataSource),
    dispatcher: app.select(DispatchingModule).get(RunDispatcher),
    events: app.get(RunEventsService, { strict: false }),
  };
}

/** One measured batch: N fresh pending runs, dispatched at once; resolves with the wall time in ms. */
async function batch(api: Side, projectId: string, latencyMs: number, tag: string): Promise<number> {
  const [experiment] = await api.dataSource.query(
    `INSERT INTO experiments (project_id, name, config, scoring_config, status, launched_at)
     VALUES ($1, $2, '{}'::jsonb, $3::jsonb, 'running', now()) RETURNING id`,
    [projectId, `bench ${tag}`, SCORERS > 0 ? SCORING_CONFIG : null],
  );
  const configs: RunConfig[] = Array.from({ length: RUNS }, (_, i) => ({
    prompt: 'Echo {{i}} of {{tag}}',
    model: 'mock:echo',
    params: { mock_latency_ms: latencyMs },
    input_data: { i, tag },
  }));
  const rows: { id: string }[] = await api.dataSource.query(
    `INSERT INTO runs (experiment_id, project_id, config, config_hash)
     SELECT $1, $2, c, h FROM unnest($3::jsonb[], $4::text[]) AS t(c, h) RETURNING id`,
    [experiment.id, projectId, configs.map((c) => JSON.stringify(c)), configs.map((c) => computeConfigHash(c))],
  );
  await api.events.ensureSubscribed();
  const done = firstValueFrom(
    api.events.stream(experiment.id).pipe(
      filter((e) => e.type === 'experiment.status'),
      take(1),
    ),
  );
  const started = performance.now();
  await api.dispatcher.dispatch(rows.map((r) => r.id));
  await done;
  // Scoring follows each run's completion, so the experiment can complete while its last runs are
  // still being scored: the clock stops when every run is completed and every score is written.
  const scoresOf = async (): Promise<number> =>
    (
      await api.dataSource.query(
        `SELECT count(*)::int AS n FROM scores s JOIN runs r ON r.id = s.run_id WHERE r.experiment_id = $1`,
        [experiment.id],
      )
    )[0].n as number;
  for (let waited = 0; (await scoresOf()) < RUNS * SCORERS; waited += 5) {
    if (waited > 60_000) throw new Error(`${tag}: ${await scoresOf()} of ${RUNS * SCORERS} scores after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const wall = performance.now() - started;
  const [{ completed }] = await api.dataSource.query(
    `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed FROM runs WHERE experiment_id = $1`,
    [experiment.id],
  );
  if (completed !== RUNS) throw new Error(`only ${completed} of ${RUNS} runs completed`);
  return wall;
}

async function main(): Promise<void> {
  let redis: TestRedis | null = null;
  const db = await openBenchDatabase('exec');
  const databaseUrl = db.url;
  const migrator = new DataSource(typeOrmOptions(databaseUrl, { extra: { max: 2 } }));
  await migrator.initialize();
  await runMigrationsLocked(migrator);
  const [project] = await migrator.query(`INSERT INTO projects (name) VALUES ('bench') RETURNING id`);
  await migrator.destroy();

  const results: string[] = [];
  try {
    for (const mode of MODES) {
      let redisUrl = '';
      if (mode === 'bull') {
        if (process.env.REDIS_URL) redisUrl = process.env.REDIS_URL;
        else {
          redis = await startRedis();
          redisUrl = redis.url;
        }
      }
      const config = loadConfig({
        DATABASE_URL: databaseUrl,
        JWT_SECRET: 'bench-secret-0123456789',
        SECRETS_KEY: Buffer.alloc(32, 'bench').toString('base64'),
        LOG_LEVEL: 'error',
        WORKER_CONCURRENCY: String(CONCURRENCY),
        // The mock provider has its own limiter: as wide as the workers, so it is not the bottleneck.
        PROVIDER_CONCURRENCY: String(CONCURRENCY),
        ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      });
      const api = await open(config, 'api');
      const worker = mode === 'bull' ? await open(config, 'worker') : null;
      try {
        await batch(api, project.id, 0, `${mode} warm-up`);
        for (const latency of LATENCIES) {
          // The sides alternate batch by batch, so drifts of the machine's load reach both alike.
          const walls: Record<'on' | 'off', number[]> = { on: [], off: [] };
          for (let r = 0; r < REPEAT; r++) {
            for (const side of r % 2 === 0 ? SIDES : [...SIDES].reverse()) {
              maintainReadModel = side === 'on';
              walls[side].push(await batch(api, project.id, latency, `${mode} ${latency} ${side} ${r}`));
            }
          }
          maintainReadModel = true;
          const floor = (RUNS * latency) / CONCURRENCY;
          for (const side of SIDES) {
            const wall = median(walls[side]);
            const line =
              `${mode.padEnd(6)} latency ${String(latency).padStart(3)} ms  read model ${side.padEnd(3)} N=${RUNS} c=${CONCURRENCY}: ` +
              `median ${wall.toFixed(0)} ms (${walls[side].map((w) => w.toFixed(0)).join(', ')}), ${((RUNS * 1000) / wall).toFixed(0)} runs/s, ` +
              (floor > 0
                ? `floor ${floor.toFixed(0)} ms, ratio ${(wall / floor).toFixed(2)}`
                : `floor 0 ms (pure overhead: ${((wall * 1000) / RUNS).toFixed(0)} µs/run wall)`);
            log(line);
            results.push(line);
          }
          if (SIDES.length === 2) {
            // Each repetition's two batches ran back to back: their ratios drift less than the medians.
            const pairs = walls.on.map((on, r) => on / walls.off[r]);
            const line =
              `${mode.padEnd(6)} latency ${String(latency).padStart(3)} ms  with ÷ without the read model: ` +
              `ratio of the medians ${(median(walls.on) / median(walls.off)).toFixed(2)}×, ` +
              `median of the paired ratios ${median(pairs).toFixed(2)}× (${pairs.map((x) => x.toFixed(2)).join(', ')})`;
            log(line);
            results.push(line);
          }
        }
      } finally {
        await worker?.app.close();
        await api.app.close();
        await redis?.stop();
        redis = null;
      }
    }
  } finally {
    await db.close();
  }
  console.log(
    [
      '',
      `execution: ${RUNS} runs, concurrency ${CONCURRENCY}, ${SCORERS} scorers, median of ${REPEAT}`,
      ...results,
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
