import request from 'supertest';
import { sha256CanonicalJson } from '../src/domain/canonical-json';
import { type Experiment } from '../src/experiments/experiment.entity';
import { ExperimentStatus } from '../src/domain/statuses';
import { RunStatus } from '../src/domain/statuses';
import { ScoreReadModel } from '../src/scoring/score-read-model';
import { ScoreSource } from '../src/scoring/score.entity';
import { expectCloseToScipy, type FixtureNumber, loadStatsFixture } from './fixtures/stats/scipy-fixtures';
import { createTestApp, type TestApp } from './support/app';
import {
  addMember,
  bearer,
  insertExperiment,
  insertRun,
  insertScore,
  registerUser,
  type TestUser,
} from './support/factories';

/** test/fixtures/stats/leaderboard-e2e.json, written by generate.py with SciPy from the same scores. */
interface FixtureRun {
  prompt: string;
  model: string;
  params: Record<string, string | number | boolean | null>;
  input_data: Record<string, unknown>;
  repetition: number;
  status: RunStatus;
  duration_ms: number | null;
  cost_estimate: number | null;
  completed_at: string;
  scores: { scorer: string; value: number; source: ScoreSource; created_at: string }[];
}

interface FixtureItem {
  key: string;
  prompt: string | null;
  model: string | null;
  params: Record<string, unknown> | null;
  n: number;
  scores: Record<string, number>;
  [stat: string]: unknown;
}

interface E2eFixture {
  scipy: string;
  experiment: { config: Experiment['config']; scoring_config: NonNullable<Experiment['scoringConfig']> };
  runs: FixtureRun[];
  leaderboards: { query: Record<string, string | number>; total: number; items: FixtureItem[] }[];
  compares: { query: Record<string, string>; expected: Record<string, string | number | null> }[];
  collision: { prefix: string; prompts: string[]; model: string; keys: string[] };
}

const fixture = loadStatsFixture<never>('leaderboard-e2e.json') as unknown as E2eFixture;

const STATS = [
  'mean',
  'stddev',
  'ci95_low',
  'ci95_high',
  'pass_rate',
  'mean_cost',
  'p50_duration_ms',
  'p95_duration_ms',
] as const;
const COMPARE_STATS = ['mean_diff', 'ci95_low', 'ci95_high', 't_test_p', 'wilcoxon_p'] as const;

function expectItem(actual: Record<string, unknown>, expected: FixtureItem, where: string): void {
  expect({
    where,
    key: actual.key,
    prompt: actual.prompt,
    model: actual.model,
    params: actual.params,
    n: actual.n,
  }).toEqual({
    where,
    key: expected.key,
    prompt: expected.prompt,
    model: expected.model,
    params: expected.params,
    n: expected.n,
  });
  for (const stat of STATS)
    expectCloseToScipy(actual[stat] as number | null, expected[stat] as FixtureNumber, `${where} ${stat}`);
  const scores = actual.scores as Record<string, number>;
  expect(Object.keys(scores).sort()).toEqual(Object.keys(expected.scores).sort());
  for (const [scorer, value] of Object.entries(expected.scores))
    expectCloseToScipy(scores[scorer], value, `${where} scores.${scorer}`);
}

describe('configuration leaderboard and comparison (e2e)', () => {
  let t: TestApp;
  let owner: TestUser;
  let viewer: TestUser;
  let stranger: TestUser;
  let experimentId: string;
  let collisionExperimentId: string;
  let emptyExperimentId: string;

  async function seedExperiment(
    projectId: string,
    name: string,
    runs: FixtureRun[],
    scoring: Experiment['scoringConfig'],
  ): Promise<string> {
    const experimentId = await insertExperiment(t.dataSource, projectId, {
      name,
      config: fixture.experiment.config,
      scoringConfig: scoring ?? undefined,
      status: ExperimentStatus.Completed,
    });
    for (const r of runs) {
      const config = { prompt: r.prompt, model: r.model, params: r.params, input_data: r.input_data };
      const completed = r.status === RunStatus.Completed || r.status === RunStatus.Failed;
      const runId = await insertRun(t.dataSource, experimentId, projectId, {
        config: { ...config, repetition: r.repetition },
        configHash: sha256CanonicalJson(config),
        repetition: r.repetition,
        status: r.status,
        startedAt: completed ? new Date(Date.parse(r.completed_at) - (r.duration_ms ?? 0)) : null,
        completedAt: completed ? new Date(r.completed_at) : null,
        durationMs: completed ? r.duration_ms : null,
        costEstimate: completed ? r.cost_estimate : null,
        output: completed ? 'output' : null,
      });
      for (const s of r.scores) {
        await insertScore(t.dataSource, runId, {
          scorerName: s.scorer,
          value: s.value,
          source: s.source,
          createdAt: new Date(s.created_at),
        });
      }
    }
    return experimentId;
  }

  const get = (path: string, user: TestUser = owner) => request(t.http).get(path).set(bearer(user.token));

  beforeAll(async () => {
    // Seeded runs look unscored: a sweep would score them late (and start the read model) mid-suite.
    t = await createTestApp({ env: { SWEEP_INTERVAL_MS: '3600000' } });
    [owner, viewer, stranger] = await Promise.all([registerUser(t.http), registerUser(t.http), registerUser(t.http)]);
    await addMember(t.http, owner, owner.projectId, viewer, 'viewer');
    experimentId = await seedExperiment(
      owner.projectId,
      'leaderboard-e2e',
      fixture.runs,
      fixture.experiment.scoring_config,
    );
    const { prompts, model } = fixture.collision;
    const collisionRuns: FixtureRun[] = prompts.map((prompt, i) => ({
      prompt,
      model,
      params: {},
      input_data: { ticket: 'x' },
      repetition: 0,
      status: RunStatus.Completed,
      duration_ms: 10,
      cost_estimate: 0,
      completed_at: '2025-01-01T00:00:00.000Z',
      scores: [
        { scorer: 'has_refund', value: i / 2, source: ScoreSource.Auto, created_at: '2025-01-01T00:00:01.000Z' },
      ],
    }));
    collisionExperimentId = await seedExperiment(owner.projectId, 'collision', collisionRuns, null);
    emptyExperimentId = await seedExperiment(owner.projectId, 'empty', [], null);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('uses fixtures computed with the SciPy version the statistics follow', () => {
    expect(fixture.scipy).toBe('1.17.1');
    expect(fixture.leaderboards[0].total).toBe(8);
  });

  // The same fixtures twice: first with the score read model absent (seeded scores bypass it, so
  // the set-based SQL answers), then after a rebuild, where the default leaderboard and the
  // full-key comparisons are read from the model; both must give SciPy's numbers.
  for (const mode of ['set-based SQL', 'score read model'] as const) {
    describe(mode, () => {
      let sqlSeen: string[] = [];
      beforeAll(async () => {
        if (mode === 'score read model') {
          const model = t.app.get(ScoreReadModel);
          for (const id of [experimentId, collisionExperimentId, emptyExperimentId]) await model.rebuild(id);
        }
        const query = t.dataSource.query.bind(t.dataSource);
        jest.spyOn(t.dataSource, 'query').mockImplementation((sql: string, ...rest) => {
          sqlSeen.push(sql);
          return query(sql, ...rest);
        });
      });
      afterAll(() => jest.restoreAllMocks());
      beforeEach(() => (sqlSeen = []));
      const readModelUsed = () => sqlSeen.some((sql) => /\bconfig_aggregates\b/.test(sql));

      it.each([0, 1, 2, 3])(
        'ranks configurations as SciPy/NumPy compute from the same scores (query #%i)',
        async (i) => {
          const { query, total, items } = fixture.leaderboards[i];
          const res = await get(`/api/experiments/${experimentId}/leaderboard`).query(query);
          expect(res.status).toBe(200);
          expect(res.body.total).toBe(total);
          expect(res.body.items).toHaveLength(items.length);
          items.forEach((expected, k) => expectItem(res.body.items[k], expected, `${JSON.stringify(query)} item ${k}`));
        },
      );

      it.each([0, 1, 2, 3, 4])('compares two configurations pairwise as SciPy does (case #%i)', async (i) => {
        const { query, expected } = fixture.compares[i];
        const res = await get(`/api/experiments/${experimentId}/compare`).query(query);
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(Object.keys(expected).sort());
        for (const field of ['a', 'b', 'n_pairs', 'wins', 'losses', 'ties'] as const)
          expect({ field, value: res.body[field] }).toEqual({ field, value: expected[field] });
        for (const stat of COMPARE_STATS)
          expectCloseToScipy(res.body[stat], expected[stat] as FixtureNumber, `compare #${i} ${stat}`);
      });

      it('reads the default leaderboard from the read model only once it is built', async () => {
        const res = await get(`/api/experiments/${experimentId}/leaderboard`);
        expect(res.status).toBe(200);
        expect(readModelUsed()).toBe(mode === 'score read model');
      });
    });
  }

  it('keys full configurations by the SHA-256 of their canonical JSON, and omitted dimensions as null', async () => {
    const res = await get(`/api/experiments/${experimentId}/leaderboard`).query({ group_by: 'model' });
    for (const item of res.body.items) {
      expect(item.key).toBe(sha256CanonicalJson({ prompt: null, model: item.model, params: null }));
      expect(item.prompt).toBeNull();
      expect(item.params).toBeNull();
    }
    const full = await get(`/api/experiments/${experimentId}/leaderboard`);
    const first = full.body.items[0];
    expect(first.key).toBe(sha256CanonicalJson({ prompt: first.prompt, model: first.model, params: first.params }));
  });

  it('pages with limit/offset over the whole ranking, total unchanged', async () => {
    const all = fixture.leaderboards[0].items.map((it) => it.key);
    const res = await get(`/api/experiments/${experimentId}/leaderboard`).query({ limit: 3, offset: 2 });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(all.length);
    expect(res.body.items.map((it: FixtureItem) => it.key)).toEqual(all.slice(2, 5));
    const past = await get(`/api/experiments/${experimentId}/leaderboard`).query({ offset: 100 });
    expect(past.body).toEqual({ items: [], total: all.length });
  });

  it('answers an experiment without scored runs with an empty page', async () => {
    const res = await get(`/api/experiments/${emptyExperimentId}/leaderboard`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], total: 0 });
  });

  it('resolves key prefixes: unknown → 404, ambiguous → 400, malformed → 400, same configuration → 400', async () => {
    const keys = fixture.leaderboards[0].items.map((it) => it.key);
    const url = `/api/experiments/${experimentId}/compare`;
    const unknownPrefix = ['00000000', 'ffffffff'].find((p) => !keys.some((k) => k.startsWith(p)))!;
    const unknown = await get(url).query({ a: unknownPrefix, b: keys[0] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/Configuration not found/);

    const ambiguous = await get(`/api/experiments/${collisionExperimentId}/compare`).query({
      a: fixture.collision.prefix,
      b: fixture.collision.keys[1],
    });
    expect(ambiguous.status).toBe(400);
    expect(JSON.stringify(ambiguous.body.message)).toMatch(/ambiguous/);
    // One more digit tells them apart.
    const [k0, k1] = fixture.collision.keys;
    const distinct = await get(`/api/experiments/${collisionExperimentId}/compare`).query({
      a: k0.slice(0, 12),
      b: k1.slice(0, 12),
    });
    expect(distinct.status).toBe(200);
    expect(distinct.body).toMatchObject({
      a: k0,
      b: k1,
      n_pairs: 1,
      mean_diff: -0.5,
      ci95_low: null,
      t_test_p: null,
      wilcoxon_p: 1,
      losses: 1,
    });

    for (const bad of [{ a: keys[0].slice(0, 7), b: keys[1] }, { a: 'zzzzzzzz', b: keys[1] }, { b: keys[1] }]) {
      const res = await get(url).query(bad);
      expect(res.status).toBe(400);
    }
    const same = await get(url).query({ a: keys[0], b: keys[0].slice(0, 8) });
    expect(same.status).toBe(400);
  });

  it('validates the leaderboard query', async () => {
    const url = `/api/experiments/${experimentId}/leaderboard`;
    for (const query of [
      { group_by: 'prompt,input' },
      { group_by: '' },
      { pass_threshold: '1.5' },
      { pass_threshold: 'half' },
      { limit: '0' },
      { limit: '501' },
      { unknown: '1' },
    ]) {
      const res = await get(url).query(query);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
    }
    expect((await get('/api/experiments/not-a-uuid/leaderboard')).status).toBe(400);
  });

  it('lets viewers read, hides the experiment from strangers and unknown ids, and needs a token', async () => {
    const leaderboard = `/api/experiments/${experimentId}/leaderboard`;
    expect((await get(leaderboard, viewer)).status).toBe(200);
    const keys = fixture.leaderboards[0].items.map((it) => it.key);
    expect(
      (await get(`/api/experiments/${experimentId}/compare`, viewer).query({ a: keys[0], b: keys[1] })).status,
    ).toBe(200);

    for (const path of [leaderboard, `/api/experiments/${experimentId}/compare?a=${keys[0]}&b=${keys[1]}`]) {
      const foreign = await get(path, stranger);
      expect(foreign.status).toBe(404);
      expect(foreign.body.message).toBe('Experiment not found');
    }
    const unknown = await get('/api/experiments/00000000-0000-4000-8000-000000000000/leaderboard');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ statusCode: 404, message: 'Experiment not found', error: 'Not Found' });
    expect((await request(t.http).get(leaderboard)).status).toBe(401);
  });
});
