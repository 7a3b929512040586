import request from 'supertest';
import { ExperimentStatus, RunStatus } from '../src/domain/statuses';
import {
  CACHE_DURATION_PERCENTILES_SQL,
  type ConfigLeaderboardRow,
  stalePercentiles,
  CONFIG_LEADERBOARD_FROM_MODEL_SQL,
  CONFIG_LEADERBOARD_SQL,
} from '../src/leaderboard/leaderboard.sql';
import { buildRunListQuery, RUN_LEADERBOARD_FROM_MODEL_SQL, RUN_LEADERBOARD_SQL } from '../src/runs-api/runs.sql';
import { type RebuildProgress, REVALUE_PAGE_SIZE, ScoreReadModel } from '../src/scoring/score-read-model';
import { ScoringService } from '../src/scoring/scoring.service';
import { createTestApp, type TestApp } from './support/app';
import { bearer, insertExperiment, insertRun, registerUser, type TestUser } from './support/factories';

/**
 * The score read model against a recomputation from scratch (the set-based SQL over `scores`):
 * after concurrent automatic scores, human re-scores, rebuilds and a change of weights, every
 * number the reads return must be the same, to 1e-12.
 */
describe('score read model (e2e)', () => {
  let t: TestApp;
  let owner: TestUser;
  let model: ScoreReadModel;
  let scoring: ScoringService;

  const close = (a: number | null, b: number | null, what: string): void => {
    if (a === null || b === null) {
      expect({ what, value: a }).toEqual({ what, value: b });
      return;
    }
    const tolerance = 1e-12 * Math.max(1, Math.abs(b));
    if (Math.abs(a - b) > tolerance) throw new Error(`${what}: ${a} vs ${b} (|Δ| = ${Math.abs(a - b)})`);
  };

  /** The scorers of every seeded experiment. */
  const SCORERS = [
    { name: 'has_yes', type: 'contains', params: { value: 'yes' } },
    { name: 'short', type: 'length', params: { max: 12 } },
  ];

  /** New weights through the API (the PATCH starts a rebuild in the background). */
  async function patchWeights(experimentId: string, weights: Record<string, number>): Promise<void> {
    const patch = await request(t.http)
      .patch(`/api/experiments/${experimentId}`)
      .set(bearer(owner.token))
      .send({ scoring_config: { scorers: SCORERS, weights } });
    expect(patch.status).toBe(200);
  }

  async function seedExperiment(
    weights: Record<string, number> | undefined,
    cells: { prompt: string; model: string; params: Record<string, unknown> }[],
    inputs: number,
    output: (cell: number, input: number) => string,
  ): Promise<{ experiment: { id: string }; runIds: string[] }> {
    const experimentId = await insertExperiment(t.dataSource, owner.projectId, {
      name: `read-model-${Date.now()}`,
      config: { prompts: ['p'], models: ['mock:echo'], inputs: [{}] },
      scoringConfig: { scorers: SCORERS, ...(weights ? { weights } : {}) },
      status: ExperimentStatus.Running,
    });
    const runIds: string[] = [];
    for (const [c, cell] of cells.entries()) {
      for (let i = 0; i < inputs; i++) {
        runIds.push(
          await insertRun(t.dataSource, experimentId, owner.projectId, {
            config: { ...cell, input_data: { i } },
            configHash: `${c}`.padStart(64, '0'),
            status: RunStatus.Completed,
            startedAt: new Date(1_700_000_000_000 + i * 1000),
            completedAt: new Date(1_700_000_000_000 + i * 1000 + 500),
            durationMs: (i * 37 + c * 11) % 101,
            tokensIn: 1,
            tokensOut: 1,
            costEstimate: i % 3 === 0 ? null : 0.001 * (i % 7),
            output: output(c, i),
          }),
        );
      }
    }
    return { experiment: { id: experimentId }, runIds };
  }

  /** Both statements of every read, side by side. */
  async function expectModelEqualsScratch(experimentId: string): Promise<void> {
    const weightsRow: { weights: unknown }[] = await t.dataSource.query(
      `SELECT coalesce(scoring_config -> 'weights', '{}'::jsonb) AS weights FROM experiments WHERE id = $1`,
      [experimentId],
    );
    const weights = JSON.stringify(weightsRow[0].weights);
    expect(await model.isCurrent(experimentId, weights)).toBe(true);

    const fromModel = await t.dataSource.query(RUN_LEADERBOARD_FROM_MODEL_SQL, [experimentId, 100_000]);
    const scratch = await t.dataSource.query(RUN_LEADERBOARD_SQL, [experimentId, weights, 100_000]);
    expect(fromModel.map((r: { run_id: string }) => r.run_id)).toEqual(
      scratch.map((r: { run_id: string }) => r.run_id),
    );
    fromModel.forEach((row: { total: number; weighted_score: number; scores: Record<string, number> }, i: number) => {
      expect(row.total).toBe(scratch[i].total);
      close(row.weighted_score, scratch[i].weighted_score, `run ${i} weighted_score`);
      expect(row.scores).toEqual(scratch[i].scores);
    });

    type CellRow = Record<string, unknown> & { cell: unknown; scores: Record<string, number> };
    // Read twice: the first read computes stale percentiles and caches them as the service does; the
    // second must answer every configuration from the cache, with the same numbers. Earlier calls of
    // this check cached values that the writes since must have invalidated.
    const firstRead: CellRow[] = await t.dataSource.query(CONFIG_LEADERBOARD_FROM_MODEL_SQL, [experimentId]);
    const stale = stalePercentiles(firstRead as unknown as ConfigLeaderboardRow[]);
    if (stale !== null) await t.dataSource.query(CACHE_DURATION_PERCENTILES_SQL, [experimentId, stale]);
    const cellsFromModel: CellRow[] = await t.dataSource.query(CONFIG_LEADERBOARD_FROM_MODEL_SQL, [experimentId]);
    expect(cellsFromModel.filter((r) => r.pct_stale)).toEqual([]);
    for (const row of firstRead) {
      const cached = cellsFromModel.find((r) => r.cell_key === row.cell_key)!;
      expect([cached.p50_duration_ms, cached.p95_duration_ms]).toEqual([row.p50_duration_ms, row.p95_duration_ms]);
    }
    const cellsScratch: CellRow[] = await t.dataSource.query(CONFIG_LEADERBOARD_SQL, [
      experimentId,
      weights,
      null,
      true,
      true,
      true,
      0.5,
    ]);
    const byCell = (rows: CellRow[]) => new Map(rows.map((r) => [JSON.stringify(r.cell), r]));
    const scratchByCell = byCell(cellsScratch);
    expect([...byCell(cellsFromModel).keys()].sort()).toEqual([...scratchByCell.keys()].sort());
    for (const row of cellsFromModel) {
      const want = scratchByCell.get(JSON.stringify(row.cell))!;
      expect(row.n).toBe(want.n);
      for (const f of ['mean', 'stddev', 'pass_rate', 'mean_cost', 'p50_duration_ms', 'p95_duration_ms'])
        close(row[f] as number | null, want[f] as number | null, `cell ${JSON.stringify(row.cell)} ${f}`);
      expect(Object.keys(row.scores).sort()).toEqual(Object.keys(want.scores).sort());
      for (const [scorer, v] of Object.entries(want.scores)) close(row.scores[scorer], v, `scores.${scorer}`);
    }

    for (const bounds of [{ minScore: 0.3 }, { maxScore: 0.7 }, { minScore: 0.2, maxScore: 0.9 }]) {
      const { sql, params } = buildRunListQuery({
        projectIds: [owner.projectId],
        experimentId,
        ...bounds,
        limit: 500,
        offset: 0,
      });
      const listed: { total: number; id: string | null }[] = await t.dataSource.query(sql, params);
      const want: { total: number }[] = await t.dataSource.query(
        `SELECT count(*)::int AS total FROM (
           SELECT r.id FROM runs r JOIN scores s ON s.run_id = r.id WHERE r.experiment_id = $1
           GROUP BY r.id HAVING avg(s.value::text::numeric)::float8 >= $2 AND avg(s.value::text::numeric)::float8 <= $3) x`,
        [experimentId, bounds.minScore ?? 0, bounds.maxScore ?? 1],
      );
      expect({ bounds, total: listed[0]?.total ?? 0 }).toEqual({ bounds, total: want[0].total });
    }
  }

  beforeAll(async () => {
    // The sweeper would score the seeded runs late, concurrently with what the tests do.
    t = await createTestApp({ env: { SWEEP_INTERVAL_MS: '3600000' } });
    owner = await registerUser(t.http);
    model = t.app.get(ScoreReadModel);
    scoring = t.app.get(ScoringService);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('equals a recomputation after racing automatic scores, human re-scores, a rebuild and new weights', async () => {
    const cells = [
      { prompt: 'a {{i}}', model: 'mock:echo', params: { temperature: 0 } },
      { prompt: 'b {{i}}', model: 'mock:echo', params: { temperature: 0.7 } },
      { prompt: 'c {{i}}', model: 'mock:echo', params: {} },
    ];
    const { experiment, runIds } = await seedExperiment({ has_yes: 2, short: 1 }, cells, 25, (c, i) =>
      (i + c) % 3 === 0 ? 'yes, short' : i % 2 ? 'no way, this is a long answer' : 'yes but this is long',
    );
    const human = (runId: string, scorer: string, value: number) =>
      request(t.http)
        .post(`/api/runs/${runId}/score`)
        .set(bearer(owner.token))
        .send({ scorer_name: scorer, value })
        .expect(201);

    // Automatic scoring of every run, human scores on the same runs and a rebuild, all at once.
    await Promise.all([
      ...runIds.map((id) => scoring.scoreRun(id)),
      ...runIds.filter((_, i) => i % 2 === 0).map((id, k) => human(id, 'has_yes', (k % 10) / 10)),
      ...runIds.filter((_, i) => i % 3 === 0).map((id, k) => human(id, 'judge', (k % 7) / 7)),
      model.rebuild(experiment.id),
    ]);
    // Human re-scores: the latest counts, concurrently on the same run and scorer.
    await Promise.all(
      runIds.slice(0, 20).flatMap((id, k) => [human(id, 'has_yes', 1), human(id, 'has_yes', (k % 4) / 4)]),
    );
    await expectModelEqualsScratch(experiment.id);

    // New weights: until the rebuild is done, reads fall back; after it, the model equals scratch again.
    await patchWeights(experiment.id, { short: 3, has_yes: 0.5 });
    await Promise.all([
      model.rebuild(experiment.id),
      ...runIds.slice(30, 50).map((id, k) => human(id, 'short', (k % 5) / 5)),
    ]);
    await model.rebuild(experiment.id);
    await expectModelEqualsScratch(experiment.id);

    // A rescore deletes and rewrites automatic scores batch by batch, racing human scores.
    await Promise.all([
      scoring.rescoreExperiment(experiment.id),
      ...runIds.slice(50, 75).map((id, k) => human(id, 'has_yes', (k % 3) / 3)),
    ]);
    await expectModelEqualsScratch(experiment.id);
  }, 180_000);

  it('revalues new weights page by page, reporting progress, while scores keep landing between pages', async () => {
    const cells = [
      { prompt: 'p {{i}}', model: 'mock:echo', params: { temperature: 0 } },
      { prompt: 'q {{i}}', model: 'mock:echo', params: { temperature: 1 } },
    ];
    const { experiment, runIds } = await seedExperiment({ has_yes: 1, short: 1 }, cells, 20, (c, i) =>
      (i + c) % 2 === 0 ? 'yes' : 'no, a longer answer',
    );
    await Promise.all(runIds.map((id) => scoring.scoreRun(id)));
    await expectModelEqualsScratch(experiment.id);

    await patchWeights(experiment.id, { has_yes: 5, short: 0.25 });
    // PATCH started a rebuild in the background; this one is queued behind it, with pages of 7 runs.
    model.revaluePageSize = 7;
    const reports: RebuildProgress[] = [];
    try {
      await model.rebuild(experiment.id, {
        onProgress: async (p) => {
          reports.push(p);
          // Between pages: a human re-score of a run behind the page and one of a run ahead of it.
          const k = reports.length;
          await Promise.all([
            request(t.http)
              .post(`/api/runs/${runIds[(k * 5) % runIds.length]}/score`)
              .set(bearer(owner.token))
              .send({ scorer_name: 'has_yes', value: (k % 4) / 4 })
              .expect(201),
            request(t.http)
              .post(`/api/runs/${runIds[runIds.length - 1 - k]}/score`)
              .set(bearer(owner.token))
              .send({ scorer_name: 'judge', value: (k % 3) / 3 })
              .expect(201),
          ]);
        },
      });
    } finally {
      model.revaluePageSize = REVALUE_PAGE_SIZE;
    }
    // 40 valued runs in pages of 7 runs: 6 pages, each reported with its counts.
    expect(reports.map((r) => r.mode)).toEqual(Array(6).fill('revalue'));
    expect(reports.map((r) => r.total)).toEqual(Array(6).fill(40));
    expect(reports[reports.length - 1].done).toBeGreaterThanOrEqual(40);
    for (let k = 1; k < reports.length; k++) expect(reports[k].done).toBeGreaterThan(reports[k - 1].done);
    await expectModelEqualsScratch(experiment.id);
  }, 180_000);

  it('stops a revalue whose weights changed meanwhile and never records them over newer values', async () => {
    const { experiment, runIds } = await seedExperiment(
      { has_yes: 1, short: 2 },
      [{ prompt: 'r {{i}}', model: 'mock:echo', params: {} }],
      30,
      (_, i) => (i % 3 === 0 ? 'yes' : 'no, a longer answer'),
    );
    await Promise.all(runIds.map((id) => scoring.scoreRun(id)));
    const setWeights = (weights: Record<string, number>) =>
      t.dataSource.query(`UPDATE experiments SET scoring_config = $2::jsonb WHERE id = $1`, [
        experiment.id,
        JSON.stringify({ scorers: SCORERS, weights }),
      ]);
    await setWeights({ has_yes: 4, short: 1 });
    model.revaluePageSize = 5;
    const reports: RebuildProgress[] = [];
    try {
      // After its first page the weights change again (as from another process): the revalue of
      // the older weights stops, and only the newer weights' rebuild records its weights.
      await model.rebuild(experiment.id, {
        onProgress: async (p) => {
          reports.push(p);
          if (reports.length === 1) await setWeights({ has_yes: 1, short: 7 });
        },
      });
    } finally {
      model.revaluePageSize = REVALUE_PAGE_SIZE;
    }
    expect(reports.map((r) => [r.mode, r.done])).toEqual([['revalue', 5]]);
    expect(await model.isCurrent(experiment.id, JSON.stringify({ has_yes: 4, short: 1 }))).toBe(false);
    await model.rebuild(experiment.id);
    await expectModelEqualsScratch(experiment.id);
  }, 180_000);

  it('keeps the standard deviation exact on values that differ only in the ninth decimal', async () => {
    const { experiment, runIds } = await seedExperiment(
      undefined,
      [{ prompt: 'x', model: 'mock:echo', params: {} }],
      200,
      () => 'out',
    );
    // Values 1 − 1e-9 + k·1e-12: a Σv² variance would cancel to noise; the stored sums are exact.
    const values = runIds.map((_, k) => 1 - 1e-9 + ((k * 7919) % 200) * 1e-12);
    await Promise.all(
      runIds.map((id, k) =>
        request(t.http)
          .post(`/api/runs/${id}/score`)
          .set(bearer(owner.token))
          .send({ scorer_name: 'tight', value: values[k] })
          .expect(201),
      ),
    );
    await expectModelEqualsScratch(experiment.id);
    const [row] = await t.dataSource.query(CONFIG_LEADERBOARD_FROM_MODEL_SQL, [experiment.id]);
    // Two-pass sample standard deviation in Node, as an independent reference.
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
    expect(sd).toBeGreaterThan(5e-11);
    close(row.stddev, sd, 'stddev vs two-pass');
    expect(Math.abs(row.stddev - sd) / sd).toBeLessThan(1e-6);
  }, 180_000);

  it('filters the runs list on the exact average of all scores: 0.7, 0.8, 0.9 average 0.8 in every order', async () => {
    const { experiment, runIds } = await seedExperiment(
      undefined,
      [{ prompt: 'y', model: 'mock:echo', params: {} }],
      6,
      () => 'out',
    );
    // Six orders of the same three scores: a float8 avg() of them is 0.7999999999999999 or
    // 0.8000000000000002 depending on the order it adds them in; the exact average is 0.8.
    const orders = [
      [0.7, 0.8, 0.9],
      [0.7, 0.9, 0.8],
      [0.8, 0.7, 0.9],
      [0.8, 0.9, 0.7],
      [0.9, 0.7, 0.8],
      [0.9, 0.8, 0.7],
    ];
    for (const [k, id] of runIds.entries()) {
      for (const [j, value] of orders[k].entries()) {
        await request(t.http)
          .post(`/api/runs/${id}/score`)
          .set(bearer(owner.token))
          .send({ scorer_name: `s${j}`, value })
          .expect(201);
      }
    }
    for (const bounds of [{ minScore: 0.8 }, { maxScore: 0.8 }, { minScore: 0.8, maxScore: 0.8 }]) {
      const { sql, params } = buildRunListQuery({
        projectIds: [owner.projectId],
        experimentId: experiment.id,
        ...bounds,
        limit: 50,
        offset: 0,
      });
      const listed: { total: number; id: string | null }[] = await t.dataSource.query(sql, params);
      expect({ bounds, total: listed[0].total, ids: listed.map((r) => r.id).sort() }).toEqual({
        bounds,
        total: 6,
        ids: [...runIds].sort(),
      });
    }
    // The same answer over HTTP.
    const res = await request(t.http)
      .get(`/api/runs?experiment_id=${experiment.id}&min_score=0.8&max_score=0.8`)
      .set(bearer(owner.token))
      .expect(200);
    expect(res.body.total).toBe(6);
  });
});
