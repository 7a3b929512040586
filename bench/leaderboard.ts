/**
 * Run leaderboard, configuration leaderboard and score-filtered runs list at scale (not a test):
 * `npm run bench:leaderboard`. The main experiment's runs fall into 150 configurations
 * (50 prompt variants × 3 temperatures), each over ~6,000 completed runs.
 *
 * Seeds BENCH_RUNS runs (default 1,000,000) with 3 scores each into one experiment through SQL
 * (generate_series), plus a neighbour experiment and a 100-run one (indexes must serve small
 * experiments in big tables too), VACUUM ANALYZEs, then prints the median latency
 * of the SQL the runs API executes beside the reference router's approach on the same data.
 *
 * Environment: BENCH_RUNS, BENCH_OTHER_RUNS (default BENCH_RUNS / 10), BENCH_REPEAT (default 7),
 * BENCH_REF_REPEAT (default 3), BENCH_DATABASE_URL (an empty database to use instead of an
 * embedded PostgreSQL), BENCH_EXPLAIN=1 (print EXPLAIN ANALYZE of the measured statements).
 */
import { randomUUID } from 'crypto';
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DataSource } from 'typeorm';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { runMigrationsLocked } from '../src/database/migrate';
import { typeOrmOptions } from '../src/database/typeorm-options';
import { queryWithWorkMem } from '../src/leaderboard/config-leaderboard.service';
import { CONFIG_LEADERBOARD_SQL, type ConfigLeaderboardRow } from '../src/leaderboard/leaderboard.sql';
import { buildRunListQuery, RUN_LEADERBOARD_SQL, type RunLeaderboardRow } from '../src/runs-api/runs.sql';
import { rankInMemory, type ReferenceRun, type ReferenceScore } from './leaderboard-reference';

const int = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
};

const RUNS = int('BENCH_RUNS', 1_000_000);
const OTHER_RUNS = int('BENCH_OTHER_RUNS', Math.max(1, Math.floor(RUNS / 10)));
const REPEAT = Math.max(5, int('BENCH_REPEAT', 7));
const REF_REPEAT = int('BENCH_REF_REPEAT', 3);
const SMALL_RUNS = 100;
const TOP_N = 10;
const MIN_SCORE = 0.8;
const LIST_LIMIT = 50;
const WEIGHTS = { accuracy: 3, style: 1, safety: 2 };
const CHUNK = 250_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const log = (msg: string): void => console.log(`[bench] ${msg}`);

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

async function measure<T>(
  label: string,
  repeat: number,
  fn: () => Promise<T>,
): Promise<{ median: number; all: number[]; value: T }> {
  await fn(); // warm-up: plan caches, buffers
  const all: number[] = [];
  let value!: T;
  for (let i = 0; i < repeat; i++) {
    const r = await time(fn);
    all.push(r.ms);
    value = r.value;
  }
  log(`${label}: median ${fmt(median(all))} over ${repeat} (${all.map((x) => x.toFixed(0)).join(', ')} ms)`);
  return { median: median(all), all, value };
}

/**
 * Runs of experiment $1 (project $2) numbered $3 + 1 .. $3 + $4: 90 % completed, the rest pending
 * or failed; a tenth never started. Scores are added separately.
 */
const INSERT_RUNS = `
INSERT INTO runs (experiment_id, project_id, config, config_hash, repetition, status, started_at, completed_at,
                  duration_ms, tokens_in, tokens_out, cost_estimate, cache_hit, output)
SELECT $1::uuid, $2::uuid,
       jsonb_build_object('prompt', 'Summarise ticket {{ticket}} variant ' || (g % 50), 'model', 'mock:echo',
                          'params', jsonb_build_object('temperature', (g % 3) * 0.5), 'input_data', jsonb_build_object('ticket', 't' || g)),
       encode(sha256(convert_to($1::text || g::text, 'UTF8')), 'hex'), 0,
       (CASE WHEN g % 10 < 9 THEN 'completed' WHEN g % 20 = 9 THEN 'failed' ELSE 'pending' END)::run_status,
       CASE WHEN g % 10 = 9 AND g % 20 <> 9 THEN NULL ELSE ts END,
       CASE WHEN g % 10 < 9 THEN ts + make_interval(secs => 1 + (g % 7)) END,
       1000 + (g % 5000), 40 + (g % 100), 60 + (g % 300), round((g % 1000) * 0.000001, 10), false, 'output ' || g
FROM generate_series($3::int + 1, $3::int + $4::int) g
CROSS JOIN LATERAL (SELECT timestamptz '2026-01-01' + make_interval(secs => (g % 2000000)::float8 + random()) AS ts) t`;

/**
 * 3 scores per run of experiment $1 (inserted in run id order, which keeps the run-id indexes'
 * inserts sequential) with status completed or failed: accuracy and style automatic,
 * the third one `safety` (auto) — except for one run in ten, where it is a later human re-score of
 * `accuracy`, so "latest score per scorer" has work to do.
 */
const INSERT_SCORES = `
INSERT INTO scores (run_id, scorer_name, value, scorer_metadata, source, created_at)
SELECT r.id,
       CASE WHEN k = 3 AND rescored THEN 'accuracy' ELSE (ARRAY['accuracy', 'style', 'safety'])[k] END,
       round(random()::numeric, 4)::float8,
       NULL,
       (CASE WHEN k = 3 AND rescored THEN 'human' ELSE 'auto' END)::score_source,
       coalesce(r.completed_at, r.started_at, now()) + make_interval(secs => k)
FROM runs r
CROSS JOIN generate_series(1, 3) k
CROSS JOIN LATERAL (SELECT abs(hashtext(r.id::text)) % 10 = 0 AS rescored) x
WHERE r.experiment_id = $1::uuid AND r.status IN ('completed', 'failed')
ORDER BY r.id, k`;

async function seed(
  ds: DataSource,
  projectId: string,
  experimentId: string,
  count: number,
  label: string,
): Promise<void> {
  const scoringConfig = { scorers: [], weights: WEIGHTS };
  await ds.query(
    `INSERT INTO experiments (id, project_id, name, config, scoring_config, status) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, 'running')`,
    [
      experimentId,
      projectId,
      label,
      JSON.stringify({ prompts: ['p'], models: ['mock:echo'], inputs: [{}] }),
      JSON.stringify(scoringConfig),
    ],
  );
  for (let from = 0; from < count; from += CHUNK) {
    const n = Math.min(CHUNK, count - from);
    const r = await time(() => ds.query(INSERT_RUNS, [experimentId, projectId, from, n]));
    log(`${label}: runs ${from + n}/${count} (${fmt(r.ms)})`);
  }
  const s = await time(() => ds.query(INSERT_SCORES, [experimentId]));
  log(`${label}: scores inserted (${fmt(s.ms)})`);
}

/** The reference router: load every completed run of the experiment with its scores, rank in Node. */
async function referenceLeaderboard(ds: DataSource, experimentId: string): Promise<{ total: number; top: string[] }> {
  const runs: ReferenceRun[] = await ds.query(
    `SELECT id, config_hash, config, status, duration_ms, tokens_in, tokens_out, completed_at
       FROM runs WHERE experiment_id = $1 AND status = 'completed'`,
    [experimentId],
  );
  const scores: ReferenceScore[] = await ds.query(
    `SELECT s.id, s.run_id, s.scorer_name, s.value, s.created_at
       FROM scores s JOIN runs r ON r.id = s.run_id
      WHERE r.experiment_id = $1 AND r.status = 'completed'`,
    [experimentId],
  );
  const ranked = rankInMemory(runs, scores, WEIGHTS);
  return { total: ranked.length, top: ranked.slice(0, TOP_N).map((e) => e.run_id) };
}

/** The reference router's list: a count, then the page, both over an average of every run's scores. */
async function referenceList(ds: DataSource, experimentId: string): Promise<number> {
  const from = `FROM runs r JOIN (SELECT run_id, avg(value) AS avg_score FROM scores GROUP BY run_id) sub ON sub.run_id = r.id
                WHERE r.experiment_id = $1 AND sub.avg_score >= $2`;
  const [{ count }] = await ds.query(`SELECT count(*)::int AS count ${from}`, [experimentId, MIN_SCORE]);
  await ds.query(`SELECT r.* ${from} ORDER BY r.started_at DESC NULLS LAST LIMIT $3 OFFSET 0`, [
    experimentId,
    MIN_SCORE,
    LIST_LIMIT,
  ]);
  return count;
}

async function explain(ds: DataSource, label: string, sql: string, params: unknown[]): Promise<void> {
  const rows: { 'QUERY PLAN': string }[] = await ds.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
  console.log(`\n----- EXPLAIN ANALYZE: ${label} -----\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
}

async function main(): Promise<void> {
  let embedded: EmbeddedPostgresHandle | null = null;
  let dir: string | null = null;
  let url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    dir = mkdtempSync(join(tmpdir(), 'pl-bench-'));
    // As root the package runs PostgreSQL as a dedicated user, which must be able to enter the folder.
    chmodSync(dir, 0o755);
    embedded = await startEmbeddedPostgres({ dataDir: dir, port: 0, persistent: false, database: 'bench' });
    url = embedded.url;
  }
  const ds = new DataSource(typeOrmOptions(url, { extra: { max: 4 } }));
  try {
    await ds.initialize();
    await runMigrationsLocked(ds);
    const [{ server_version: version }] = await ds.query('SHOW server_version');
    const settings: { name: string; setting: string; unit: string | null }[] = await ds.query(
      `SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'max_parallel_workers_per_gather')`,
    );
    log(`PostgreSQL ${version}; ${settings.map((s) => `${s.name}=${s.setting}${s.unit ?? ''}`).join(', ')}`);

    const projectId = randomUUID();
    const experimentId = randomUUID();
    const smallId = randomUUID();
    await ds.query(`INSERT INTO projects (id, name) VALUES ($1, 'bench')`, [projectId]);
    const seeding = await time(async () => {
      await seed(ds, projectId, experimentId, RUNS, 'main experiment');
      await seed(ds, projectId, randomUUID(), OTHER_RUNS, 'neighbour experiment');
      await seed(ds, projectId, smallId, SMALL_RUNS, 'small experiment');
      // VACUUM as autovacuum would in steady state: it sets the visibility map index-only scans rely on.
      await ds.query('VACUUM ANALYZE');
    });
    const [counts] = await ds.query(
      `SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM scores)::int AS scores,
              (SELECT count(*) FROM runs WHERE experiment_id = $1 AND status = 'completed')::int AS completed`,
      [experimentId],
    );
    log(
      `seeded ${counts.runs} runs, ${counts.scores} scores (${counts.completed} completed in the main experiment) in ${fmt(seeding.ms)}`,
    );

    const weights = JSON.stringify(WEIGHTS);
    const leaderboardParams = [experimentId, weights, TOP_N];
    const list = buildRunListQuery({
      projectIds: [projectId],
      experimentId,
      minScore: MIN_SCORE,
      limit: LIST_LIMIT,
      offset: 0,
    });
    const plainList = buildRunListQuery({ projectIds: [projectId], experimentId, limit: LIST_LIMIT, offset: 0 });
    if (process.env.BENCH_EXPLAIN === '1') {
      await explain(ds, 'run leaderboard', RUN_LEADERBOARD_SQL, leaderboardParams);
      await explain(ds, 'runs list, experiment_id + min_score', list.sql, list.params);
      await explain(ds, 'runs list, experiment_id only', plainList.sql, plainList.params);
    }

    const lb = await measure('run leaderboard (SQL, top_n 10)', REPEAT, () =>
      ds.query<RunLeaderboardRow[]>(RUN_LEADERBOARD_SQL, leaderboardParams),
    );
    const fl = await measure(
      `runs list (SQL, experiment_id + min_score ${MIN_SCORE}, limit ${LIST_LIMIT})`,
      REPEAT,
      () => ds.query(list.sql, list.params),
    );
    const pl = await measure(`runs list (SQL, experiment_id only, limit ${LIST_LIMIT})`, REPEAT, () =>
      ds.query(plainList.sql, plainList.params),
    );
    // GET /api/experiments/{id}/leaderboard with the default group_by (prompt, model, params), weighted score, pass ≥ 0.5.
    const configParams = [experimentId, weights, null, true, true, true, 0.5];
    const clb = await measure('configuration leaderboard (SQL, group_by prompt,model,params)', REPEAT, () =>
      queryWithWorkMem<ConfigLeaderboardRow>(ds, CONFIG_LEADERBOARD_SQL, configParams),
    );
    const cmb = await measure('configuration leaderboard (SQL, group_by model)', REPEAT, () =>
      queryWithWorkMem<ConfigLeaderboardRow>(ds, CONFIG_LEADERBOARD_SQL, [
        experimentId,
        weights,
        null,
        false,
        true,
        false,
        0.5,
      ]),
    );
    if (process.env.BENCH_EXPLAIN === '1')
      await explain(ds, 'configuration leaderboard', CONFIG_LEADERBOARD_SQL, configParams);
    const smallList = buildRunListQuery({
      projectIds: [projectId],
      experimentId: smallId,
      minScore: MIN_SCORE,
      limit: LIST_LIMIT,
      offset: 0,
    });
    const slb = await measure(`small experiment (${SMALL_RUNS} runs): run leaderboard`, REPEAT, () =>
      ds.query(RUN_LEADERBOARD_SQL, [smallId, weights, TOP_N]),
    );
    const sfl = await measure(`small experiment (${SMALL_RUNS} runs): runs list, min_score`, REPEAT, () =>
      ds.query(smallList.sql, smallList.params),
    );
    const refLb = await measure('reference leaderboard (load completed runs + scores, rank in Node)', REF_REPEAT, () =>
      referenceLeaderboard(ds, experimentId),
    );
    const refList = await measure('reference list (avg over every score, count + page)', REF_REPEAT, () =>
      referenceList(ds, experimentId),
    );

    const sqlTop = lb.value.map((r) => r.run_id);
    const agree = lb.value[0]?.total === refLb.value.total && sqlTop.join() === refLb.value.top.join();
    const listTotal = (fl.value as { total: number }[])[0]?.total;
    console.log(`
Run leaderboard and runs list — ${counts.runs.toLocaleString('en-US')} runs, ${counts.scores.toLocaleString('en-US')} scores (main experiment: ${RUNS.toLocaleString('en-US')} runs)
| what | ours (median) | reference (median) | reference / ours |
|---|---|---|---|
| leaderboard, top ${TOP_N} of ${lb.value[0]?.total ?? 0} ranked runs | ${fmt(lb.median)} | ${fmt(refLb.median)} | ${(refLb.median / lb.median).toFixed(1)}× |
| list, experiment_id + min_score ${MIN_SCORE} (total ${listTotal}), limit ${LIST_LIMIT} | ${fmt(fl.median)} | ${fmt(refList.median)} | ${(refList.median / fl.median).toFixed(1)}× |
| list, experiment_id only, limit ${LIST_LIMIT} | ${fmt(pl.median)} | – | – |
| configuration leaderboard, ${clb.value.length} configurations (group_by prompt,model,params) | ${fmt(clb.median)} | – | – |
| configuration leaderboard, ${cmb.value.length} configuration(s) (group_by model) | ${fmt(cmb.median)} | – | – |
| small experiment (${SMALL_RUNS} runs) in the same tables: leaderboard / list with min_score | ${fmt(slb.median)} / ${fmt(sfl.median)} | – | – |
SQL and in-memory rankings agree (total and top ${TOP_N}): ${agree ? 'yes' : 'NO'}; reference list total ${refList.value} vs ours ${listTotal}.`);
    if (!agree || refList.value !== listTotal) process.exitCode = 1;
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await embedded?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
