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
 * embedded PostgreSQL), BENCH_EXPLAIN=1 (print EXPLAIN ANALYZE of the measured statements),
 * BENCH_REUSE=1 (with BENCH_DATABASE_URL: reuse the data an earlier run seeded there and left behind,
 * for profiling iterations; its "right after writing" phase then measures analysed tables),
 * BENCH_PHASES (default `reads,weights`), BENCH_REBUILD_REPEAT (default 3: changes of each kind).
 *
 * Phase `weights`: changes of the main experiment's weights as PATCH makes them (the UPDATE of
 * scoring_config, then ScoreReadModel.rebuild, which PATCH and rescore call), each timed:
 * revalues alternating with rebuilds from the scores (the baseline: what a change cost before),
 * then one revalue with a run leaderboard read (as RunLeaderboardService picks its statement)
 * and a human score (the statement and refresh of ScoringService.addHumanScore) going on
 * throughout, to show what reads and writes see meanwhile. After each revalue every leaderboard
 * is checked against today's SQL under the new weights (every row, every number to 1e-12).
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
import {
  CACHE_DURATION_PERCENTILES_SQL,
  stalePercentiles,
  CONFIG_LEADERBOARD_FROM_MODEL_SQL,
  CONFIG_LEADERBOARD_SQL,
  type ConfigLeaderboardRow,
  PAIRED_VALUES_FROM_MODEL_SQL,
  PAIRED_VALUES_SQL,
} from '../src/leaderboard/leaderboard.sql';
import { buildRunListQuery, RUN_LEADERBOARD_FROM_MODEL_SQL, RUN_LEADERBOARD_SQL } from '../src/runs-api/runs.sql';
import { type RebuildProgress, ScoreReadModel } from '../src/scoring/score-read-model';
import { INSERT_HUMAN_SCORE } from '../src/scoring/scoring.sql';
import { BASELINE_SCORE_FILTERED_LIST_SQL } from './leaderboard-baseline';

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
const REUSE = process.env.BENCH_REUSE === '1';
const PHASES = new Set((process.env.BENCH_PHASES ?? 'reads,weights').split(','));
const REBUILD_REPEAT = int('BENCH_REBUILD_REPEAT', 3);
/** The weights the phase `weights` sets in turn (each differs from the one before, and from WEIGHTS). */
const WEIGHT_CHANGES = [
  { accuracy: 1, style: 2, safety: 4 },
  { accuracy: 0.5, style: 3, safety: 0 },
  { accuracy: 2, style: 0.25, safety: 1 },
];
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
                          'params', jsonb_build_object('temperature', (g % 3) * 0.5), 'input_data', jsonb_build_object('ticket', 't' || (g / 150))),
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

/** Configuration rows keyed by their cell, in a stable order (the SQL leaves rows unordered). */
function byCell(rows: { cell: unknown }[]): unknown[] {
  return [...rows].sort((x, y) => (JSON.stringify(x.cell) < JSON.stringify(y.cell) ? -1 : 1));
}

/** Deep equality with numbers equal to 1e-12 (relative to their size); throws naming the path. */
function assertSame(a: unknown, b: unknown, path: string): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Math.abs(a - b) > 1e-12 * Math.max(1, Math.abs(a))) throw new Error(`${path}: ${a} vs ${b}`);
    return;
  }
  if (a instanceof Date && b instanceof Date) {
    if (a.getTime() !== b.getTime()) throw new Error(`${path}: ${a.toISOString()} vs ${b.toISOString()}`);
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    if (ka.join() !== kb.join()) throw new Error(`${path}: keys ${ka.join()} vs ${kb.join()}`);
    for (const k of ka)
      assertSame((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  if (a !== b) throw new Error(`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
}

/** The UPDATE that PATCH /api/experiments/:id makes of scoring_config, for its weights only. */
async function setWeights(ds: DataSource, experimentId: string, weights: Record<string, number>): Promise<void> {
  await ds.query(
    `UPDATE experiments SET scoring_config = jsonb_set(scoring_config, '{weights}', $2::jsonb), updated_at = now() WHERE id = $1`,
    [experimentId, JSON.stringify(weights)],
  );
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

    const previous: { project_id: string; main_id: string; small_id: string }[] = REUSE
      ? await ds.query(
          `SELECT p.id AS project_id, m.id AS main_id, s.id AS small_id FROM projects p
             JOIN experiments m ON m.project_id = p.id AND m.name = 'main experiment'
             JOIN experiments s ON s.project_id = p.id AND s.name = 'small experiment'
            WHERE p.name = 'bench' AND (SELECT count(*) FROM runs r WHERE r.experiment_id = m.id) = $1`,
          [RUNS],
        )
      : [];
    const projectId = previous[0]?.project_id ?? randomUUID();
    const experimentId = previous[0]?.main_id ?? randomUUID();
    const smallId = previous[0]?.small_id ?? randomUUID();
    const seeding = await time(async () => {
      if (previous.length > 0) return log('reusing the data seeded by an earlier run');
      await ds.query(`INSERT INTO projects (id, name) VALUES ($1, 'bench')`, [projectId]);
      await seed(ds, projectId, experimentId, RUNS, 'main experiment');
      await seed(ds, projectId, randomUUID(), OTHER_RUNS, 'neighbour experiment');
      await seed(ds, projectId, smallId, SMALL_RUNS, 'small experiment');
    });
    const [counts] = await ds.query(
      `SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM scores)::int AS scores,
              (SELECT count(*) FROM runs WHERE experiment_id = $1 AND status = 'completed')::int AS completed`,
      [experimentId],
    );
    log(
      `seeded ${counts.runs} runs, ${counts.scores} scores (${counts.completed} completed in the main experiment) in ${fmt(seeding.ms)}`,
    );
    // An earlier run's phase `weights` left other weights behind.
    if (previous.length > 0) await setWeights(ds, experimentId, WEIGHTS);
    // The bench seeds scores with SQL, past ScoringService: the model is built from the scores as
    // for an experiment never valued (a reused database's model is maintained: it is revalued).
    const model = new ScoreReadModel(ds);
    let buildMode = '';
    const rebuild = await time(() => model.rebuild(experimentId, { onProgress: (p) => void (buildMode = p.mode) }));
    log(`score read model built for the main experiment (${buildMode}) in ${fmt(rebuild.ms)}`);
    const experiments: { id: string }[] = await ds.query(`SELECT id FROM experiments WHERE id <> $1`, [experimentId]);
    for (const e of experiments) await model.rebuild(e.id);

    let weights = JSON.stringify(WEIGHTS);
    if (!(await model.isCurrent(experimentId, weights))) throw new Error('score read model not current after rebuild');
    const configParams = () => [experimentId, weights, null, true, true, true, 0.5];
    const cells: { cell: unknown; cell_key: string }[] = await ds.query(
      `SELECT cell, cell_key FROM config_aggregates WHERE experiment_id = $1 ORDER BY cell_key LIMIT 2`,
      [experimentId],
    );
    if (cells.length < 2) throw new Error('need two configurations to compare');
    const [cellA, cellB] = cells;

    const configLeaderboardAsServed = async () => {
      const rows: ConfigLeaderboardRow[] = await ds.query(CONFIG_LEADERBOARD_FROM_MODEL_SQL, [experimentId]);
      const stale = stalePercentiles(rows);
      if (stale !== null) await ds.query(CACHE_DURATION_PERCENTILES_SQL, [experimentId, stale]);
      // The cache bookkeeping is not part of the answer.
      return byCell(rows.map(({ cell_key: _k, dur_version: _v, pct_stale: _s, ...row }) => row));
    };

    type Read = { label: string; today: () => Promise<unknown>; model: () => Promise<unknown> };
    const reads: Read[] = [
      {
        label: `run leaderboard, top ${TOP_N}`,
        today: () => ds.query(RUN_LEADERBOARD_SQL, [experimentId, weights, TOP_N]),
        model: () => ds.query(RUN_LEADERBOARD_FROM_MODEL_SQL, [experimentId, TOP_N]),
      },
      {
        // As GET …/leaderboard does: read, then cache the percentiles it had to compute (none once cached).
        label: 'configuration leaderboard (prompt, model, params)',
        today: () => queryWithWorkMem<ConfigLeaderboardRow>(ds, CONFIG_LEADERBOARD_SQL, configParams()).then(byCell),
        model: () => configLeaderboardAsServed(),
      },
      {
        // Every configuration changed since the last read (as while runs complete): no percentile is cached.
        label: 'configuration leaderboard, every configuration changed since the last read',
        today: () => queryWithWorkMem<ConfigLeaderboardRow>(ds, CONFIG_LEADERBOARD_SQL, configParams()).then(byCell),
        model: async () => {
          await ds.query(`UPDATE config_aggregates SET pct_version = NULL WHERE experiment_id = $1`, [experimentId]);
          return configLeaderboardAsServed();
        },
      },
      {
        label: `runs list, experiment_id + min_score ${MIN_SCORE}, limit ${LIST_LIMIT}`,
        today: () => ds.query(BASELINE_SCORE_FILTERED_LIST_SQL, [[projectId], experimentId, MIN_SCORE, LIST_LIMIT]),
        model: () => {
          const q = buildRunListQuery({
            projectIds: [projectId],
            experimentId,
            minScore: MIN_SCORE,
            limit: LIST_LIMIT,
            offset: 0,
          });
          return ds
            .query(q.sql, q.params)
            .then((rows: { total: number; id: string }[]) => rows.map((r) => ({ total: r.total, id: r.id })));
        },
      },
      {
        label: 'paired compare of two configurations',
        today: () =>
          ds.query(PAIRED_VALUES_SQL, [
            experimentId,
            weights,
            null,
            JSON.stringify(cellA.cell),
            JSON.stringify(cellB.cell),
          ]),
        model: () => ds.query(PAIRED_VALUES_FROM_MODEL_SQL, [experimentId, cellA.cell_key, cellB.cell_key]),
      },
    ];

    // After a change of weights: the reads whose numbers depend on them (the runs list filters on avg_all).
    const readsToCheck = reads.filter(
      (read) => read.label.startsWith('configuration leaderboard (') || read.label.startsWith('paired'),
    );
    const table: string[] = [];
    const phase = async (when: string, repeatToday: boolean): Promise<void> => {
      for (const read of reads) {
        // Identical answers first (every row, every number to 1e-12), then the clock.
        const first = await time(read.today);
        const [b] = [await read.model()];
        assertSame(first.value, b, `${read.label} (${when})`);
        // Before ANALYZE today's SQL can take minutes a call at a million runs: its first call is the figure.
        const today = repeatToday
          ? (await measure(`${read.label}, today's SQL (${when})`, REF_REPEAT, read.today)).median
          : first.ms;
        if (!repeatToday) log(`${read.label}, today's SQL (${when}): one call, ${fmt(first.ms)}`);
        const fromModel = await measure(`${read.label}, read model (${when})`, REPEAT, read.model);
        const size = Array.isArray(b) ? ` [${b.length} rows]` : '';
        table.push(
          `| ${read.label}${size} | ${when} | ${fmt(today)} | ${fmt(fromModel.median)} | ${(today / fromModel.median).toFixed(0)}× |`,
        );
      }
    };
    if (PHASES.has('reads')) {
      // The moment users look: right after the runs were written, before any ANALYZE has run…
      await phase('right after writing, no ANALYZE', false);
      // …and in steady state, after autovacuum would have analysed the tables.
      await ds.query('VACUUM ANALYZE');
      await phase('after VACUUM ANALYZE', true);

      console.log(`
Reads at ${RUNS.toLocaleString('en-US')} runs in the main experiment (${counts.runs.toLocaleString('en-US')} runs, ${counts.scores.toLocaleString('en-US')} scores in the tables); medians; both sides gave identical results
| read | when | today's SQL | score read model | ratio |
|---|---|---|---|---|
${table.join('\n')}
| build of the read model from the scores (${buildMode}), main experiment | – | – | ${fmt(rebuild.ms)} | – |`);
    }

    if (PHASES.has('weights')) {
      const probeRuns: { id: string }[] = await ds.query(
        `SELECT id FROM runs WHERE experiment_id = $1 AND status = 'completed' ORDER BY id LIMIT 200`,
        [experimentId],
      );
      const lines: string[] = [];
      const walls: Record<'revalue' | 'full', number[]> = { revalue: [], full: [] };
      // REBUILD_REPEAT changes revalued and as many rebuilt from the scores (as every change of weights
      // was before: the baseline), alternating, then one more revalue with a reader and a writer going on.
      const rounds = 2 * REBUILD_REPEAT + 1;
      for (let i = 0; i < rounds; i++) {
        const online = i === rounds - 1;
        const fromScores = !online && i % 2 === 1;
        const next = WEIGHT_CHANGES[i % WEIGHT_CHANGES.length];
        await setWeights(ds, experimentId, next);
        weights = JSON.stringify(next);
        const progress: RebuildProgress[] = [];
        const leaderboardReads: { ms: number; from: 'model' | 'set-based SQL'; ended: number }[] = [];
        const writes: number[] = [];
        let rebuilding = online;
        // A reader refreshing the run leaderboard, as RunLeaderboardService answers it.
        const reader = (async () => {
          while (rebuilding) {
            const current = await model.isCurrent(experimentId, weights);
            const r = await time(() =>
              current
                ? ds.query(RUN_LEADERBOARD_FROM_MODEL_SQL, [experimentId, TOP_N])
                : ds.query(RUN_LEADERBOARD_SQL, [experimentId, weights, TOP_N]),
            );
            leaderboardReads.push({ ms: r.ms, from: current ? 'model' : 'set-based SQL', ended: progress.length });
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
        })();
        // A human scoring runs meanwhile: ScoringService.addHumanScore's transaction.
        const writer = (async () => {
          for (let k = 0; rebuilding; k++) {
            const runId = probeRuns[(i * 37 + k) % probeRuns.length].id;
            const r = await time(() =>
              ds.transaction(async (em) => {
                await em.query(INSERT_HUMAN_SCORE, [runId, 'accuracy', ((k * 7) % 10) / 10, '{}']);
                await model.refresh(em, [runId]);
              }),
            );
            writes.push(r.ms);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        })();
        const r = await time(() =>
          model.rebuild(experimentId, { fromScores, onProgress: (p) => void progress.push(p) }),
        );
        rebuilding = false;
        await Promise.all([reader, writer]);
        const last = progress[progress.length - 1];
        if (!online) walls[last.mode].push(r.ms);
        log(
          `weights ${weights}${online ? ' (reader and writer going on)' : ''}: ${last.mode} in ${fmt(r.ms)}, ` +
            `${progress.length} progress reports (${progress
              .filter((_, k) => k % 10 === 9 || k === progress.length - 1)
              .map((p) => `${p.done}/${p.total ?? '?'} at ${fmt(p.elapsedMs)}`)
              .join(', ')}, …), ${last.changed} values changed`,
        );
        const byPath = (from: string) => leaderboardReads.filter((x) => x.from === from).map((x) => x.ms);
        const readLine = ['set-based SQL', 'model']
          .map((from) => {
            const xs = byPath(from);
            return xs.length === 0
              ? null
              : `${xs.length} from the ${from} (median ${fmt(median(xs))}, max ${fmt(Math.max(...xs))})`;
          })
          .filter((x) => x !== null)
          .join(', ');
        const writeLine =
          writes.length === 0
            ? '–'
            : `${writes.length} (median ${fmt(median(writes))}, max ${fmt(Math.max(...writes))})`;
        if (online) {
          log(`  during it, run leaderboard reads (one a second): ${readLine}`);
          log(`  during it, human scores (one every 100 ms): ${writeLine}`);
        }
        if (!(await model.isCurrent(experimentId, weights))) throw new Error('model not current after the rebuild');
        // Every leaderboard equals a recomputation from scratch under the new weights.
        if (fromScores) {
          lines.push(
            `| ${weights} | ${last.mode} (baseline) | ${fmt(r.ms)} | ${last.changed.toLocaleString('en-US')} | ${progress.length} | – | – |`,
          );
          continue;
        }
        const check = await time(async () => {
          const top = 1000;
          assertSame(
            await ds.query(RUN_LEADERBOARD_SQL, [experimentId, weights, top]),
            await ds.query(RUN_LEADERBOARD_FROM_MODEL_SQL, [experimentId, top]),
            `run leaderboard top ${top} after weights ${weights}`,
          );
          for (const read of readsToCheck)
            assertSame(await read.today(), await read.model(), `${read.label} after weights ${weights}`);
        });
        log(`  checked against today's SQL under the new weights: identical (${fmt(check.ms)})`);
        lines.push(
          `| ${weights} | ${last.mode} | ${fmt(r.ms)} | ${last.changed.toLocaleString('en-US')} | ${progress.length} | ${readLine || '–'} | ${writeLine} |`,
        );
      }
      console.log(`
Changes of weights at ${RUNS.toLocaleString('en-US')} runs (PATCH's UPDATE, then ScoreReadModel.rebuild); every leaderboard identical to today's SQL afterwards
| new weights | rebuild | time | values changed | progress reports | run leaderboard reads meanwhile | human scores meanwhile |
|---|---|---|---|---|---|---|
${lines.join('\n')}
a change of weights, medians of the rows without a reader and a writer: revalue ${fmt(median(walls.revalue))} (${walls.revalue.map((w) => fmt(w)).join(', ')}); rebuild from the scores (before) ${fmt(median(walls.full))} (${walls.full.map((w) => fmt(w)).join(', ')}); ratio ${(median(walls.full) / median(walls.revalue)).toFixed(2)}×`);
    }
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
