import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { type EntitySubscriberInterface } from 'typeorm';
import { type RunEvent } from '../src/events/run-event';
import { RunEventsService } from '../src/events/run-events.service';
import { RunDispatcher } from '../src/runs/run-dispatcher';
import { Experiment } from '../src/experiments/experiment.entity';
import { ExperimentStatus } from '../src/domain/statuses';
import { type ScoringConfig } from '../src/domain/configs';
import { Run } from '../src/runs/run.entity';
import { type RunConfig } from '../src/domain/configs';
import { RunStatus } from '../src/domain/statuses';
import { ScoreReadModel } from '../src/scoring/score-read-model';
import { Score, ScoreSource } from '../src/scoring/score.entity';
import { createTestApp, type TestApp } from './support/app';
import {
  addMember,
  bearer,
  createApiKey,
  insertExperiment,
  insertRun,
  insertScore,
  insertStageResult,
  registerUser,
  type TestUser,
} from './support/factories';
import { waitFor } from './support/wait';

/** The contract's hash, written out by hand: sha256 hex of the canonical JSON text. */
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Deterministic PRNG (mulberry32) so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const RUN_KEYS = [
  'id',
  'experiment_id',
  'config_hash',
  'config',
  'status',
  'started_at',
  'completed_at',
  'duration_ms',
  'queue_ms',
  'attempts',
  'tokens_in',
  'tokens_out',
  'cost_estimate',
  'cache_hit',
  'error',
  'dataset_item_key',
  'prompt_version',
];
const ENTRY_KEYS = [
  'run_id',
  'config_hash',
  'config',
  'status',
  'weighted_score',
  'scores',
  'duration_ms',
  'tokens_in',
  'tokens_out',
];
const BASE = Date.parse('2026-03-01T00:00:00.000Z');
const at = (seconds: number): Date => new Date(BASE + seconds * 1000);

interface SeedScore {
  scorer: string;
  value: number;
  source?: ScoreSource;
  createdAt?: Date;
  id?: string;
}

interface SeedRun {
  status?: RunStatus;
  startedAt?: Date | null;
  completedAt?: Date | null;
  scores?: SeedScore[];
  config?: RunConfig;
  id?: string;
}

/** A seeded experiment: what the tests need of it. */
interface SeededExperiment {
  id: string;
  projectId: string;
}

/** What a seeded run looks like to the expectations computed in the test. */
interface Seeded {
  id: string;
  experimentId: string;
  projectId: string;
  status: RunStatus;
  startedAt: Date | null;
  completedAt: Date | null;
  scores: { id: string; scorer: string; value: number; createdAt: number }[];
}

describe('runs API (e2e)', () => {
  let t: TestApp;
  let owner: TestUser;
  let editor: TestUser;
  let viewer: TestUser;
  let stranger: TestUser;
  let ownerKey: string;
  let strangerKey: string;
  let runSeq = 0;

  /** Every SQL statement the app's DataSource runs while `capture` is set. */
  let capture: string[] | null = null;
  async function queriesDuring(action: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    capture = seen;
    try {
      await action();
    } finally {
      capture = null;
    }
    return seen;
  }
  const touchesRunData = (sql: string): boolean => /\b(runs|scores|stage_results)\b/i.test(sql);

  async function seedExperiment(
    projectId: string,
    scoringConfig: ScoringConfig | null = null,
  ): Promise<SeededExperiment> {
    const id = await insertExperiment(t.dataSource, projectId, {
      name: `exp-${randomUUID().slice(0, 8)}`,
      config: { prompts: ['p'], models: ['mock:echo'], inputs: [{}] },
      scoringConfig: scoringConfig ?? undefined,
      status: ExperimentStatus.Running,
    });
    return { id, projectId };
  }

  async function seedRun(experiment: SeededExperiment, seed: SeedRun = {}): Promise<Seeded> {
    runSeq += 1;
    const config: RunConfig = seed.config ?? {
      prompt: `prompt ${runSeq}`,
      model: 'mock:echo',
      params: { temperature: 0 },
      input_data: { n: runSeq },
    };
    const status = seed.status ?? RunStatus.Completed;
    const startedAt = seed.startedAt === undefined ? at(runSeq) : seed.startedAt;
    const completedAt =
      seed.completedAt === undefined ? (status === RunStatus.Completed ? at(runSeq + 1) : null) : seed.completedAt;
    const runId = await insertRun(t.dataSource, experiment.id, experiment.projectId, {
      id: seed.id,
      config,
      configHash: sha256(`seed-${runSeq}`),
      repetition: 0,
      status,
      startedAt,
      completedAt,
      durationMs: 100 + runSeq,
      tokensIn: 10,
      tokensOut: 20,
      costEstimate: 0.00125,
      cacheHit: false,
      output: 'out',
      error: status === RunStatus.Failed ? 'boom' : null,
    });
    const run = { id: runId };
    const scores: Seeded['scores'] = [];
    for (const [i, s] of (seed.scores ?? []).entries()) {
      const source =
        s.source ??
        (seed
          .scores!.slice(0, i)
          .some((p) => p.scorer === s.scorer && (p.source ?? ScoreSource.Auto) === ScoreSource.Auto)
          ? ScoreSource.Human
          : ScoreSource.Auto);
      const id = await insertScore(t.dataSource, run.id, {
        id: s.id,
        scorerName: s.scorer,
        value: s.value,
        metadata: { i },
        source,
        createdAt: s.createdAt,
      });
      const [row]: { created_at: Date }[] = await t.dataSource.query(`SELECT created_at FROM scores WHERE id = $1`, [
        id,
      ]);
      scores.push({ id, scorer: s.scorer, value: s.value, createdAt: row.created_at.getTime() });
    }
    // Scores seeded by hand move the score read model as ScoringService's writes do.
    if (scores.length > 0) await t.dataSource.transaction((em) => t.app.get(ScoreReadModel).refresh(em, [run.id]));
    return {
      id: run.id,
      experimentId: experiment.id,
      projectId: experiment.projectId,
      status,
      startedAt,
      completedAt,
      scores,
    };
  }

  beforeAll(async () => {
    // No sweeps during the suite: seeded pending runs must stay as seeded.
    t = await createTestApp({ env: { SWEEP_INTERVAL_MS: '3600000' } });
    const subscriber: EntitySubscriberInterface = { beforeQuery: (event) => void capture?.push(event.query) };
    t.dataSource.subscribers.push(subscriber);
    owner = await registerUser(t.http, { name: 'Owner' });
    editor = await registerUser(t.http, { name: 'Editor' });
    viewer = await registerUser(t.http, { name: 'Viewer' });
    stranger = await registerUser(t.http, { name: 'Stranger' });
    await addMember(t.http, owner, owner.projectId, editor, 'editor');
    await addMember(t.http, owner, owner.projectId, viewer, 'viewer');
    ownerKey = (await createApiKey(t.http, owner, owner.projectId)).key;
    strangerKey = (await createApiKey(t.http, stranger, stranger.projectId)).key;
  });
  afterAll(async () => {
    await t.close();
  });

  describe('GET /api/runs', () => {
    let lister: TestUser;
    let other: TestUser;
    let seeded: Seeded[];
    let experiments: { A: SeededExperiment; B: SeededExperiment; C: SeededExperiment; S: SeededExperiment };
    const avg = (r: Seeded): number | null =>
      r.scores.length ? r.scores.reduce((a, s) => a + s.value, 0) / r.scores.length : null;
    const order = (a: Seeded, b: Seeded): number => {
      if (a.startedAt && b.startedAt && a.startedAt.getTime() !== b.startedAt.getTime())
        return b.startedAt.getTime() - a.startedAt.getTime();
      if (a.startedAt && !b.startedAt) return -1;
      if (!a.startedAt && b.startedAt) return 1;
      return a.id < b.id ? -1 : 1;
    };

    beforeAll(async () => {
      lister = await registerUser(t.http, { name: 'Lister' });
      other = await registerUser(t.http, { name: 'Other' });
      await addMember(t.http, other, other.projectId, lister, 'viewer');
      experiments = {
        A: await seedExperiment(lister.projectId),
        B: await seedExperiment(lister.projectId),
        C: await seedExperiment(other.projectId),
        S: await seedExperiment(stranger.projectId),
      };
      const rnd = prng(7);
      const statuses = Object.values(RunStatus);
      const sameStart = at(5000);
      seeded = [];
      for (const [name, count] of [
        ['A', 14],
        ['B', 7],
        ['C', 6],
        ['S', 5],
      ] as const) {
        for (let i = 0; i < count; i++) {
          // Values in eighths: averages are exact in binary, so bounds compare exactly.
          const nScores = Math.floor(rnd() * 4);
          const scores = Array.from({ length: nScores }, (_, k) => ({
            scorer: `s${k % 2}`,
            value: Math.floor(rnd() * 9) / 8,
          }));
          const startedAt = i % 5 === 0 ? null : i % 4 === 0 ? sameStart : at(1000 + Math.floor(rnd() * 500));
          seeded.push(await seedRun(experiments[name], { status: statuses[i % statuses.length], startedAt, scores }));
        }
      }
      // Boundary cases: averages exactly at 0.5, 0 and 1; a superseded score still counts in the average.
      seeded.push(
        await seedRun(experiments.A, {
          scores: [
            { scorer: 'a', value: 0.25 },
            { scorer: 'b', value: 0.75 },
          ],
        }),
      );
      seeded.push(await seedRun(experiments.A, { scores: [{ scorer: 'a', value: 0 }] }));
      seeded.push(
        await seedRun(experiments.B, {
          scores: [
            { scorer: 'a', value: 1 },
            { scorer: 'a', value: 1, source: ScoreSource.Human },
          ],
        }),
      );
      seeded.push(
        await seedRun(experiments.A, {
          scores: [
            { scorer: 'a', value: 1 },
            { scorer: 'a', value: 0, source: ScoreSource.Human },
          ],
        }),
      );
    });

    function expected(filter: {
      exp?: keyof typeof experiments;
      status?: RunStatus;
      min?: number;
      max?: number;
    }): Seeded[] {
      return seeded
        .filter((r) => r.projectId !== stranger.projectId)
        .filter((r) => !filter.exp || r.experimentId === experiments[filter.exp].id)
        .filter((r) => !filter.status || r.status === filter.status)
        .filter((r) => {
          if (filter.min === undefined && filter.max === undefined) return true;
          const a = avg(r);
          return (
            a !== null && (filter.min === undefined || a >= filter.min) && (filter.max === undefined || a <= filter.max)
          );
        })
        .sort(order);
    }

    it("returns every run of the caller's projects, newest started first, never-started last, ties by id, with RunResponse fields", async () => {
      const res = await request(t.http).get('/api/runs').query({ limit: 500 }).set(bearer(lister.token));
      expect(res.status).toBe(200);
      const want = expected({});
      expect(res.body.total).toBe(want.length);
      expect(res.body.items.map((r: { id: string }) => r.id)).toEqual(want.map((r) => r.id));
      const item = res.body.items[0];
      expect(Object.keys(item).sort()).toEqual([...RUN_KEYS].sort());
      expect(item.cost_estimate).toBe(0.00125);
      expect(item.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(res.body.items.at(-1).started_at).toBeNull();
      // The one-project case: `other` sees C only, the stranger never sees any of these.
      const others = await request(t.http).get('/api/runs').query({ limit: 500 }).set(bearer(other.token));
      expect(others.body.items.map((r: { id: string }) => r.id)).toEqual(expected({ exp: 'C' }).map((r) => r.id));
      const strangers = await request(t.http).get('/api/runs').query({ limit: 500 }).set(bearer(strangerKey));
      const strangerIds = new Set(strangers.body.items.map((r: { id: string }) => r.id));
      expect(want.some((r) => strangerIds.has(r.id))).toBe(false);
      expect(seeded.filter((r) => r.experimentId === experiments.S.id).every((r) => strangerIds.has(r.id))).toBe(true);
    });

    it('filters on every combination of experiment, status and score bounds', async () => {
      const exps = [undefined, 'A', 'B', 'C'] as const;
      const statuses = [undefined, ...Object.values(RunStatus)];
      const bounds: { min?: number; max?: number }[] = [
        {},
        { min: 0.5 },
        { max: 0.5 },
        { min: 0.3, max: 0.7 },
        { min: 0.5, max: 0.5 },
        { min: 0, max: 1 },
        { min: 1 },
        { max: 0 },
      ];
      let nonEmpty = 0;
      for (const exp of exps) {
        for (const status of statuses) {
          for (const b of bounds) {
            const query: Record<string, string | number> = { limit: 500 };
            if (exp) query.experiment_id = experiments[exp].id;
            if (status) query.status = status;
            if (b.min !== undefined) query.min_score = b.min;
            if (b.max !== undefined) query.max_score = b.max;
            const res = await request(t.http).get('/api/runs').query(query).set(bearer(lister.token));
            const want = expected({ exp, status, ...b });
            if (want.length > 0) nonEmpty++;
            expect({
              query,
              status: res.status,
              total: res.body.total,
              ids: res.body.items?.map((r: { id: string }) => r.id),
            }).toEqual({
              query,
              status: 200,
              total: want.length,
              ids: want.map((r) => r.id),
            });
          }
        }
      }
      expect(nonEmpty).toBeGreaterThan(100);
    });

    it('pages with limit/offset: total before paging, offset past the end gives no items, edges 1 and 500 accepted', async () => {
      const want = expected({ exp: 'A' });
      const pages: string[] = [];
      for (let offset = 0; offset < want.length; offset += 4) {
        const res = await request(t.http)
          .get('/api/runs')
          .query({ experiment_id: experiments.A.id, limit: 4, offset })
          .set(bearer(lister.token));
        expect(res.status).toBe(200);
        expect(res.body.total).toBe(want.length);
        pages.push(...res.body.items.map((r: { id: string }) => r.id));
      }
      expect(pages).toEqual(want.map((r) => r.id));
      const past = await request(t.http)
        .get('/api/runs')
        .query({ experiment_id: experiments.A.id, offset: want.length + 10 })
        .set(bearer(lister.token));
      expect(past.status).toBe(200);
      expect(past.body).toEqual({ items: [], total: want.length });
      const scoredPast = await request(t.http)
        .get('/api/runs')
        .query({ min_score: 0, offset: 1000 })
        .set(bearer(lister.token));
      expect(scoredPast.body).toEqual({ items: [], total: expected({ min: 0 }).length });
      const one = await request(t.http).get('/api/runs').query({ limit: 1 }).set(bearer(lister.token));
      expect(one.body.items).toHaveLength(1);
      const dflt = await request(t.http).get('/api/runs').set(bearer(lister.token));
      expect(dflt.body.items).toHaveLength(Math.min(50, expected({}).length));
    });

    it('rejects bad query parameters with 400', async () => {
      const bad: Record<string, string | number>[] = [
        { limit: 0 },
        { limit: 501 },
        { limit: -1 },
        { limit: 'ten' },
        { limit: 1.5 },
        { offset: -1 },
        { offset: 'x' },
        { experiment_id: 'not-a-uuid' },
        { status: 'done' },
        { min_score: -0.01 },
        { min_score: 1.01 },
        { max_score: 2 },
        { min_score: 'high' },
        { min_score: '' },
        { min_score: 0.8, max_score: 0.2 },
        { unknown: 1 },
      ];
      for (const query of bad) {
        const res = await request(t.http).get('/api/runs').query(query).set(bearer(lister.token));
        expect({ query, status: res.status, error: res.body.error }).toEqual({
          query,
          status: 400,
          error: 'Bad Request',
        });
      }
      const both = await request(t.http).get('/api/runs').query({ limit: 0, min_score: 5 }).set(bearer(lister.token));
      expect((both.body.message as string[]).join('\n')).toMatch(/limit[\s\S]*min_score|min_score[\s\S]*limit/);
      const minMax = await request(t.http)
        .get('/api/runs')
        .query({ min_score: 0.8, max_score: 0.2 })
        .set(bearer(lister.token));
      expect(minMax.body.message).toEqual(['min_score must not be greater than max_score']);
    });

    it('answers 404 "Experiment not found" for an unknown or foreign experiment_id', async () => {
      for (const id of [randomUUID(), experiments.S.id]) {
        const res = await request(t.http).get('/api/runs').query({ experiment_id: id }).set(bearer(lister.token));
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ statusCode: 404, message: 'Experiment not found', error: 'Not Found' });
      }
      expect((await request(t.http).get('/api/runs')).status).toBe(401);
    });

    it('computes the score-filtered list, its total and its page in one SQL statement', async () => {
      for (const query of [
        { min_score: 0.25, max_score: 0.9, limit: 3 },
        { experiment_id: experiments.A.id, min_score: 0.5 },
        { status: 'completed', offset: 2 },
      ]) {
        let body: { total: number; items: unknown[] } = { total: -1, items: [] };
        const queries = await queriesDuring(async () => {
          const res = await request(t.http).get('/api/runs').query(query).set(bearer(lister.token));
          expect(res.status).toBe(200);
          body = res.body;
        });
        const runQueries = queries.filter(touchesRunData);
        expect({ query, runQueries: runQueries.length }).toEqual({ query, runQueries: 1 });
        expect(body.total).toBeGreaterThan(0);
        if ('min_score' in query) expect(runQueries[0]).toMatch(/rv\.avg_all/);
      }
    });
  });

  describe('GET /api/runs/:id', () => {
    it('returns the detail: stage results by stage_index, scores oldest first with source, scoring_errors only when present', async () => {
      const exp = await seedExperiment(owner.projectId);
      const run = await seedRun(exp, {
        scores: [
          { scorer: 'late', value: 0.5, createdAt: at(300) },
          { scorer: 'early', value: 1, createdAt: at(100) },
          { scorer: 'late', value: 0.75, source: ScoreSource.Human, createdAt: at(200) },
        ],
      });
      for (const index of [2, 0, 1]) {
        await insertStageResult(t.dataSource, run.id, {
          stageName: `stage${index}`,
          stageIndex: index,
          prompt: `p${index}`,
          output: `o${index}`,
          model: 'mock:echo',
          tokensIn: index,
          tokensOut: index + 1,
          durationMs: 5,
          cost: 0.5,
          error: null,
        });
      }
      const res = await request(t.http).get(`/api/runs/${run.id}`).set(bearer(viewer.token));
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual([...RUN_KEYS, 'stage_results', 'scores'].sort());
      expect(res.body).toMatchObject({
        id: run.id,
        experiment_id: exp.id,
        status: 'completed',
        cost_estimate: 0.00125,
        tokens_in: 10,
        tokens_out: 20,
        cache_hit: false,
        error: null,
      });
      expect(res.body.stage_results.map((s: { stage_index: number }) => s.stage_index)).toEqual([0, 1, 2]);
      expect(Object.keys(res.body.stage_results[0]).sort()).toEqual(
        [
          'id',
          'run_id',
          'stage_name',
          'stage_index',
          'prompt',
          'output',
          'model',
          'tokens_in',
          'tokens_out',
          'duration_ms',
          'error',
          'tool_calls',
          'finish_reason',
          'created_at',
        ].sort(),
      );
      expect(res.body.stage_results[1]).toMatchObject({
        run_id: run.id,
        stage_name: 'stage1',
        prompt: 'p1',
        output: 'o1',
        model: 'mock:echo',
        tokens_in: 1,
        tokens_out: 2,
        duration_ms: 5,
        error: null,
      });
      expect(
        res.body.scores.map((s: { scorer_name: string; value: number; source: string; created_at: string }) => [
          s.scorer_name,
          s.value,
          s.source,
          s.created_at,
        ]),
      ).toEqual([
        ['early', 1, 'auto', at(100).toISOString()],
        ['late', 0.75, 'human', at(200).toISOString()],
        ['late', 0.5, 'auto', at(300).toISOString()],
      ]);
      expect(Object.keys(res.body.scores[0]).sort()).toEqual(
        ['id', 'run_id', 'scorer_name', 'value', 'scorer_metadata', 'source', 'created_at'].sort(),
      );
      expect(res.body.scores[0].scorer_metadata).toEqual({ i: 1 });

      await t.dataSource.getRepository(Run).update(run.id, { scoringErrors: { matches: 'expected field missing' } });
      const withErrors = await request(t.http).get(`/api/runs/${run.id}`).set(bearer(ownerKey));
      expect(withErrors.body.scoring_errors).toEqual({ matches: 'expected field missing' });
    });

    it('answers 400 for a bad UUID and the same 404 for unknown and foreign runs', async () => {
      expect((await request(t.http).get('/api/runs/12345').set(bearer(owner.token))).status).toBe(400);
      const foreign = await seedRun(await seedExperiment(stranger.projectId));
      for (const id of [randomUUID(), foreign.id]) {
        const res = await request(t.http).get(`/api/runs/${id}`).set(bearer(owner.token));
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ statusCode: 404, message: 'Run not found', error: 'Not Found' });
      }
      expect((await request(t.http).get(`/api/runs/${foreign.id}`).set(bearer(ownerKey))).status).toBe(404);
      expect((await request(t.http).get(`/api/runs/${foreign.id}`).set(bearer(stranger.token))).status).toBe(200);
    });
  });

  describe('POST /api/runs (ad-hoc)', () => {
    let exp: SeededExperiment;
    let dispatched: { ids: string[]; visible: { id: string; status: string }[] }[];
    let failDispatch = false;

    beforeAll(async () => {
      exp = await seedExperiment(owner.projectId);
      dispatched = [];
      const dispatcher = t.app.get(RunDispatcher);
      // Records what another connection sees at dispatch time: the row must already be committed.
      jest.spyOn(dispatcher, 'dispatch').mockImplementation(async (ids: string[]) => {
        const visible = await t.dataSource.query('SELECT id, status FROM runs WHERE id = ANY($1::uuid[])', [ids]);
        dispatched.push({ ids, visible });
        if (failDispatch) throw new Error('queue down');
      });
    });
    afterAll(() => jest.restoreAllMocks());

    it("inserts a pending run with the contract hash, repetition 0, the experiment's project, and dispatches it after commit", async () => {
      const config = {
        prompt: 'Hello {{name}}',
        model: 'mock:echo',
        params: { temperature: 0.7, max_tokens: 256, top_p: 1.0, stop: null, json: false, tiny: 1e-7, huge: 1e21 },
        input_data: { name: 'Zoë', nested: { z: 1, a: [1, { y: 'é', b: 2 }] } },
      };
      const res = await request(t.http)
        .post('/api/runs')
        .set(bearer(editor.token))
        .send({ experiment_id: exp.id, config });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual([...RUN_KEYS].sort());
      const canonical =
        '{"input_data":{"name":"Zoë","nested":{"a":[1,{"b":2,"y":"é"}],"z":1}},"model":"mock:echo",' +
        '"params":{"huge":1e+21,"json":false,"max_tokens":256,"stop":null,"temperature":0.7,"tiny":1e-7,"top_p":1},"prompt":"Hello {{name}}"}';
      expect(res.body).toMatchObject({
        experiment_id: exp.id,
        status: 'pending',
        config_hash: sha256(canonical),
        config,
        started_at: null,
        completed_at: null,
        duration_ms: null,
        tokens_in: null,
        tokens_out: null,
        cost_estimate: null,
        cache_hit: false,
        error: null,
      });
      const row = await t.dataSource.getRepository(Run).findOneByOrFail({ id: res.body.id });
      expect(row).toMatchObject({
        projectId: owner.projectId,
        repetition: 0,
        useCache: true,
        status: RunStatus.Pending,
        configHash: sha256(canonical),
      });
      expect(dispatched.at(-1)).toEqual({ ids: [res.body.id], visible: [{ id: res.body.id, status: 'pending' }] });
    });

    it('defaults params to {} and input_data to "" in the hash; stages and cache stay outside it', async () => {
      const plain = await request(t.http)
        .post('/api/runs')
        .set(bearer(ownerKey))
        .send({ experiment_id: exp.id, config: { prompt: 'p', model: 'mock:echo' } });
      expect(plain.status).toBe(201);
      expect(plain.body.config_hash).toBe(sha256('{"input_data":"","model":"mock:echo","params":{},"prompt":"p"}'));
      const staged = await request(t.http)
        .post('/api/runs')
        .set(bearer(owner.token))
        .send({
          experiment_id: exp.id,
          config: {
            prompt: 'p',
            model: 'mock:echo',
            params: {},
            input_data: '',
            cache: false,
            stages: [
              { name: 'draft', prompt: 'Draft {{x}}' },
              {
                name: 'polish',
                prompt: 'Polish {{ stages.draft.output }}',
                model: 'mock:echo',
                params: { temperature: 0 },
              },
            ],
          },
        });
      expect(staged.status).toBe(201);
      expect(staged.body.config_hash).toBe(plain.body.config_hash);
      expect(staged.body.config.stages).toHaveLength(2);
      const row = await t.dataSource.getRepository(Run).findOneByOrFail({ id: staged.body.id });
      expect(row.useCache).toBe(false);
      const text = await request(t.http)
        .post('/api/runs')
        .set(bearer(owner.token))
        .send({ experiment_id: exp.id, config: { prompt: 'p', model: 'mock:echo', input_data: 'a string' } });
      expect(text.body.config_hash).toBe(
        sha256('{"input_data":"a string","model":"mock:echo","params":{},"prompt":"p"}'),
      );
    });

    it('keeps the run (pending, 201) when dispatching fails: the sweeper picks it up', async () => {
      failDispatch = true;
      try {
        const res = await request(t.http)
          .post('/api/runs')
          .set(bearer(owner.token))
          .send({ experiment_id: exp.id, config: { prompt: 'q', model: 'mock:echo' } });
        expect(res.status).toBe(201);
        expect((await t.dataSource.getRepository(Run).findOneByOrFail({ id: res.body.id })).status).toBe(
          RunStatus.Pending,
        );
      } finally {
        failDispatch = false;
      }
    });

    it('rejects invalid configs with 400 naming every offending field, and creates nothing', async () => {
      const before = await t.dataSource.getRepository(Run).countBy({ experimentId: exp.id });
      const calls = dispatched.length;
      const cases: { body: Record<string, unknown>; expect: RegExp[] }[] = [
        { body: { experiment_id: exp.id }, expect: [/config must be an object/] },
        { body: { experiment_id: exp.id, config: null }, expect: [/config must be an object/] },
        { body: { experiment_id: exp.id, config: 'p' }, expect: [/config must be an object/] },
        {
          body: { experiment_id: 'nope', config: { prompt: 'p', model: 'mock:echo' } },
          expect: [/experiment_id must be a UUID/],
        },
        { body: { experiment_id: exp.id, config: { model: 'mock:echo' } }, expect: [/config\.prompt/] },
        {
          body: { experiment_id: exp.id, config: { prompt: 42, model: 7 } },
          expect: [/config\.prompt/, /config\.model/],
        },
        {
          body: { experiment_id: exp.id, config: { prompt: 'p', model: 'gpt-4o' } },
          expect: [/config\.model: Invalid model "gpt-4o"/],
        },
        {
          body: { experiment_id: exp.id, config: { prompt: 'p', model: 'nope:x' } },
          expect: [/config\.model: Unknown provider "nope"/],
        },
        {
          body: { experiment_id: exp.id, config: { prompt: 'p', model: 'mock:unknown' } },
          expect: [/config\.model: Unknown model "mock:unknown"/],
        },
        {
          body: { experiment_id: exp.id, config: { prompt: 'p', model: 'mock:echo', params: { t: [0, 1] } } },
          expect: [/config\.params\.t is a list: an ad-hoc run is one cell/],
        },
        {
          body: {
            experiment_id: exp.id,
            config: { prompt: 'p', model: 'mock:echo', params: { t: { $sweep: [0, 1] } } },
          },
          expect: [/config\.params\.t is a \{"\$sweep"\}/],
        },
        {
          body: { experiment_id: exp.id, config: { prompt: 'p', model: 'mock:echo', params: [1] } },
          expect: [/config\.params/],
        },
        {
          body: { experiment_id: exp.id, config: { prompt: 'p', model: 'mock:echo', input_data: 5 } },
          expect: [/config\.input_data must be an object or a string/],
        },
        {
          body: { experiment_id: exp.id, config: { prompt: 'p', model: 'mock:echo', cache: 'no' } },
          expect: [/config\.cache must be a boolean/],
        },
        {
          body: { experiment_id: exp.id, config: { prompt: 'p', model: 'mock:echo', repetition: 2 } },
          expect: [/config\.property repetition should not exist/],
        },
        {
          body: { experiment_id: exp.id, config: { prompt: 'p', model: 'mock:echo' }, extra: true },
          expect: [/property extra should not exist/],
        },
        {
          body: { experiment_id: exp.id, config: { prompt: 'p', model: 'mock:echo', stages: [] } },
          expect: [/config\.stages must contain at least 1/],
        },
        {
          body: { experiment_id: exp.id, config: { prompt: 'p', model: 'mock:echo', stages: 'x' } },
          expect: [/config\.stages/],
        },
        {
          body: {
            experiment_id: exp.id,
            config: {
              prompt: 'p',
              model: 'mock:echo',
              stages: [{ prompt: 'x' }, { name: 'a b', prompt: '' }, { name: 'c', prompt: 'y', extra: 1 }],
            },
          },
          expect: [
            /config\.stages\.0\.name/,
            /config\.stages\.1\.name/,
            /config\.stages\.1\.prompt/,
            /config\.stages\.2\.property extra should not exist/,
          ],
        },
        {
          body: {
            experiment_id: exp.id,
            config: {
              prompt: 'top {{stages.a.output}}',
              model: 'mock:nope',
              stages: [
                { name: 'a', prompt: '{{stages.b.output}}', model: 'zzz:1' },
                { name: 'b', prompt: 'ok' },
                { name: 'a', prompt: '{{stages.ghost.output}}' },
              ],
            },
          },
          expect: [
            /config\.model: Unknown model "mock:nope"/,
            /config\.prompt uses \{\{stages\.a\.output\}\}/,
            /config\.stages\[0\]\.model: Unknown provider "zzz"/,
            /config\.stages\[0\]\.prompt uses \{\{stages\.b\.output\}\} but stage "b" does not run before it/,
            /config\.stages\[2\]\.name "a" is already used/,
            /config\.stages\[2\]\.prompt uses \{\{stages\.ghost\.output\}\} but no stage is named "ghost"/,
          ],
        },
      ];
      for (const c of cases) {
        const res = await request(t.http).post('/api/runs').set(bearer(owner.token)).send(c.body);
        const messages = Array.isArray(res.body.message) ? res.body.message.join('\n') : String(res.body.message);
        expect({ body: c.body, status: res.status }).toEqual({ body: c.body, status: 400 });
        for (const pattern of c.expect)
          expect({ body: c.body, messages }).toEqual({ body: c.body, messages: expect.stringMatching(pattern) });
      }
      expect(await t.dataSource.getRepository(Run).countBy({ experimentId: exp.id })).toBe(before);
      expect(dispatched.length).toBe(calls);
    });

    it('needs the editor role: viewer 403, stranger and foreign API key 404, unknown experiment 404', async () => {
      const body = { experiment_id: exp.id, config: { prompt: 'p', model: 'mock:echo' } };
      const asViewer = await request(t.http).post('/api/runs').set(bearer(viewer.token)).send(body);
      expect(asViewer.status).toBe(403);
      for (const token of [stranger.token, strangerKey]) {
        const res = await request(t.http).post('/api/runs').set(bearer(token)).send(body);
        expect(res.status).toBe(404);
        expect(res.body.message).toBe('Experiment not found');
      }
      const unknown = await request(t.http)
        .post('/api/runs')
        .set(bearer(owner.token))
        .send({ ...body, experiment_id: randomUUID() });
      expect(unknown.body).toEqual({ statusCode: 404, message: 'Experiment not found', error: 'Not Found' });
      expect((await request(t.http).post('/api/runs').send(body)).status).toBe(401);
    });
  });

  describe('POST /api/runs/:id/score', () => {
    let run: Seeded;
    beforeAll(async () => {
      run = await seedRun(await seedExperiment(owner.projectId), { status: RunStatus.Running });
    });

    it('writes a human score and answers the reference ScoreResponse', async () => {
      const res = await request(t.http)
        .post(`/api/runs/${run.id}/score`)
        .set(bearer(editor.token))
        .send({ scorer_name: 'quality', value: 0.8, metadata: { reviewer: 'grace' } });
      expect(res.status).toBe(201);
      // The scoring module records who scored, beside the metadata sent.
      expect(res.body).toEqual({
        id: expect.any(String),
        run_id: run.id,
        scorer_name: 'quality',
        value: 0.8,
        scorer_metadata: { reviewer: 'grace', scored_by: { kind: 'user', id: editor.id } },
        created_at: expect.stringMatching(/Z$/),
      });
      for (const value of [0, 1]) {
        const edge = await request(t.http)
          .post(`/api/runs/${run.id}/score`)
          .set(bearer(ownerKey))
          .send({ scorer_name: 'quality', value });
        expect(edge.status).toBe(201);
        expect(edge.body.scorer_metadata).toEqual({ scored_by: { kind: 'api_key', id: expect.any(String) } });
      }
      const row = await t.dataSource.getRepository(Score).findOneByOrFail({ id: res.body.id });
      expect(row.source).toBe(ScoreSource.Human);
      const detail = await request(t.http).get(`/api/runs/${run.id}`).set(bearer(viewer.token));
      expect(detail.body.scores.map((s: { value: number; source: string }) => [s.value, s.source])).toEqual([
        [0.8, 'human'],
        [0, 'human'],
        [1, 'human'],
      ]);
    });

    it('rejects values outside 0..1 and malformed bodies; 403 for viewers; 404 for unknown and foreign runs; 400 for bad ids', async () => {
      for (const body of [
        { scorer_name: 'q', value: -0.01 },
        { scorer_name: 'q', value: 1.0001 },
        { scorer_name: 'q', value: '0.5' },
        { scorer_name: 'q' },
        { value: 0.5 },
        { scorer_name: '', value: 0.5 },
        { scorer_name: 'q', value: 0.5, metadata: 'x' },
        { scorer_name: 'q', value: 0.5, source: 'auto' },
      ]) {
        const res = await request(t.http).post(`/api/runs/${run.id}/score`).set(bearer(owner.token)).send(body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
      }
      const ok = { scorer_name: 'q', value: 0.5 };
      expect((await request(t.http).post(`/api/runs/${run.id}/score`).set(bearer(viewer.token)).send(ok)).status).toBe(
        403,
      );
      const foreign = await seedRun(await seedExperiment(stranger.projectId));
      for (const id of [randomUUID(), foreign.id]) {
        const res = await request(t.http).post(`/api/runs/${id}/score`).set(bearer(owner.token)).send(ok);
        expect(res.body).toEqual({ statusCode: 404, message: 'Run not found', error: 'Not Found' });
      }
      expect((await request(t.http).post('/api/runs/nope/score').set(bearer(owner.token)).send(ok)).status).toBe(400);
      expect(await t.dataSource.getRepository(Score).countBy({ runId: foreign.id })).toBe(0);
    });
  });

  describe('POST /api/runs/:id/cancel', () => {
    it('cancels pending and running runs (202, completed_at set) and answers 409 for finished ones', async () => {
      const exp = await seedExperiment(owner.projectId);
      for (const status of [RunStatus.Pending, RunStatus.Running]) {
        const run = await seedRun(exp, { status, startedAt: status === RunStatus.Running ? at(1) : null });
        if (status === RunStatus.Running) {
          await t.dataSource.query(
            `UPDATE runs SET lease_owner = 'worker-x', lease_expires_at = now() + interval '1 minute' WHERE id = $1`,
            [run.id],
          );
        }
        const before = Date.now();
        const res = await request(t.http).post(`/api/runs/${run.id}/cancel`).set(bearer(editor.token));
        expect(res.status).toBe(202);
        expect(Object.keys(res.body).sort()).toEqual([...RUN_KEYS].sort());
        expect(res.body).toMatchObject({ id: run.id, status: 'cancelled', cost_estimate: 0.00125 });
        expect(Date.parse(res.body.completed_at)).toBeGreaterThanOrEqual(before - 5000);
        // The same meaning as an experiment's cancel: ended, and nobody holds its lease any more.
        expect(await t.dataSource.getRepository(Run).findOneByOrFail({ id: run.id })).toMatchObject({
          status: RunStatus.Cancelled,
          leaseOwner: null,
          leaseExpiresAt: null,
        });
        const again = await request(t.http).post(`/api/runs/${run.id}/cancel`).set(bearer(editor.token));
        expect(again.body).toEqual({ statusCode: 409, message: 'Run already finished', error: 'Conflict' });
      }
      for (const status of [RunStatus.Completed, RunStatus.Failed, RunStatus.Cancelled]) {
        const run = await seedRun(exp, { status });
        const res = await request(t.http).post(`/api/runs/${run.id}/cancel`).set(bearer(ownerKey));
        expect({ status, code: res.status, message: res.body.message }).toEqual({
          status,
          code: 409,
          message: 'Run already finished',
        });
        expect((await t.dataSource.getRepository(Run).findOneByOrFail({ id: run.id })).status).toBe(status);
      }
    });

    it('publishes the state change and completes the experiment when its last open run is cancelled', async () => {
      const exp = await seedExperiment(owner.projectId);
      await seedRun(exp, { status: RunStatus.Completed });
      const run = await seedRun(exp, { status: RunStatus.Pending });
      const events: RunEvent[] = [];
      const subscription = t.app
        .get(RunEventsService)
        .stream(exp.id)
        .subscribe((e) => events.push(e));
      try {
        expect((await request(t.http).post(`/api/runs/${run.id}/cancel`).set(bearer(owner.token))).status).toBe(202);
        await waitFor(
          () => events.some((e) => e.type === 'run.status' && e.run_id === run.id && e.status === 'cancelled'),
          { what: 'run.status cancelled event' },
        );
        const score = await request(t.http)
          .post(`/api/runs/${run.id}/score`)
          .set(bearer(owner.token))
          .send({ scorer_name: 'late_review', value: 0.25 });
        expect(score.status).toBe(201);
        await waitFor(() => events.some((e) => e.type === 'run.scored' && e.run_id === run.id), {
          what: 'run.scored event',
        });
        expect(events.find((e) => e.type === 'run.scored')).toMatchObject({
          scores: { late_review: 0.25 },
          source: 'human',
        });
      } finally {
        subscription.unsubscribe();
      }
      const experiment = await t.dataSource.getRepository(Experiment).findOneByOrFail({ id: exp.id });
      expect(experiment.status).toBe(ExperimentStatus.Completed);
    });

    it('403 for viewers, 404 for unknown and foreign runs, 400 for bad ids', async () => {
      const run = await seedRun(await seedExperiment(owner.projectId), { status: RunStatus.Pending });
      expect((await request(t.http).post(`/api/runs/${run.id}/cancel`).set(bearer(viewer.token))).status).toBe(403);
      const foreign = await seedRun(await seedExperiment(stranger.projectId), { status: RunStatus.Pending });
      for (const id of [randomUUID(), foreign.id]) {
        const res = await request(t.http).post(`/api/runs/${id}/cancel`).set(bearer(owner.token));
        expect(res.body).toEqual({ statusCode: 404, message: 'Run not found', error: 'Not Found' });
      }
      expect((await request(t.http).post('/api/runs/123/cancel').set(bearer(owner.token))).status).toBe(400);
      expect((await t.dataSource.getRepository(Run).findOneByOrFail({ id: run.id })).status).toBe(RunStatus.Pending);
      expect((await t.dataSource.getRepository(Run).findOneByOrFail({ id: foreign.id })).status).toBe(
        RunStatus.Pending,
      );
    });
  });

  describe('GET /api/runs/leaderboard/:experiment_id', () => {
    /** The contract's ranking, computed independently in the test. */
    function rank(runs: Seeded[], weights: Record<string, unknown> | undefined) {
      return runs
        .filter((r) => r.status === RunStatus.Completed && r.scores.length > 0)
        .map((r) => {
          const latest = new Map<string, Seeded['scores'][number]>();
          for (const s of r.scores) {
            const cur = latest.get(s.scorer);
            if (!cur || s.createdAt > cur.createdAt || (s.createdAt === cur.createdAt && s.id > cur.id))
              latest.set(s.scorer, s);
          }
          const values = [...latest.values()];
          let sw = 0;
          let swv = 0;
          for (const s of values) {
            const w = weights?.[s.scorer];
            if (typeof w === 'number') {
              sw += w;
              swv += w * s.value;
            }
          }
          const mean = values.reduce((a, s) => a + s.value, 0) / values.length;
          return {
            run_id: r.id,
            weighted_score: sw === 0 ? mean : swv / sw,
            scores: Object.fromEntries(values.map((s) => [s.scorer, s.value])),
            completedAt: r.completedAt!.getTime(),
          };
        })
        .sort(
          (a, b) =>
            b.weighted_score - a.weighted_score || a.completedAt - b.completedAt || (a.run_id < b.run_id ? -1 : 1),
        );
    }

    async function board(experimentId: string, query: Record<string, unknown> = {}, token = owner.token) {
      return request(t.http).get(`/api/runs/leaderboard/${experimentId}`).query(query).set(bearer(token));
    }

    it('weights: Σw·v/Σw over weighted scorers, plain mean when none is weighted; entries in the contract shape', async () => {
      const exp = await seedExperiment(owner.projectId, { weights: { a: 1, b: 3, z: 0 } });
      const both = await seedRun(exp, {
        scores: [
          { scorer: 'a', value: 1 },
          { scorer: 'b', value: 0.5 },
        ],
      });
      const partial = await seedRun(exp, {
        scores: [
          { scorer: 'a', value: 0.25 },
          { scorer: 'c', value: 1 },
        ],
      });
      const unweighted = await seedRun(exp, {
        scores: [
          { scorer: 'c', value: 0.5 },
          { scorer: 'd', value: 0.75 },
        ],
      });
      const zero = await seedRun(exp, {
        scores: [
          { scorer: 'z', value: 0.125 },
          { scorer: 'c', value: 0.375 },
        ],
      });
      const res = await board(exp.id);
      expect(res.status).toBe(200);
      expect(res.body.experiment_id).toBe(exp.id);
      expect(res.body.total).toBe(4);
      expect(
        res.body.entries.map((e: { run_id: string; weighted_score: number }) => [e.run_id, e.weighted_score]),
      ).toEqual([
        [both.id, 0.625],
        [unweighted.id, 0.625],
        [partial.id, 0.25],
        [zero.id, 0.25],
      ]);
      const entry = res.body.entries.find((e: { run_id: string }) => e.run_id === both.id);
      expect(Object.keys(entry).sort()).toEqual([...ENTRY_KEYS].sort());
      expect(entry).toMatchObject({
        status: 'completed',
        scores: { a: 1, b: 0.5 },
        config_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        tokens_in: 10,
        tokens_out: 20,
      });
      expect(res.body.entries).toEqual(
        rank([both, partial, unweighted, zero], { a: 1, b: 3, z: 0 }).map((e) =>
          expect.objectContaining({ run_id: e.run_id, weighted_score: e.weighted_score, scores: e.scores }),
        ),
      );
    });

    it('without weights, with all-zero weights and with non-numeric weights: the plain mean', async () => {
      for (const scoring of [
        null,
        { scorers: [] },
        { weights: {} },
        { weights: { a: 0, b: 0 } },
        { weights: { a: '2', b: null } as unknown as Record<string, number> },
      ]) {
        const exp = await seedExperiment(owner.projectId, scoring);
        const r1 = await seedRun(exp, {
          scores: [
            { scorer: 'a', value: 1 },
            { scorer: 'b', value: 0 },
          ],
        });
        const r2 = await seedRun(exp, {
          scores: [
            { scorer: 'a', value: 0.25 },
            { scorer: 'b', value: 1 },
          ],
        });
        const res = await board(exp.id);
        expect({
          scoring,
          entries: res.body.entries.map((e: { run_id: string; weighted_score: number }) => [
            e.run_id,
            e.weighted_score,
          ]),
        }).toEqual({
          scoring,
          entries: [
            [r2.id, 0.625],
            [r1.id, 0.5],
          ],
        });
      }
      const cancelling = await seedExperiment(owner.projectId, { weights: { a: 1, b: -1 } });
      const r = await seedRun(cancelling, {
        scores: [
          { scorer: 'a', value: 1 },
          { scorer: 'b', value: 0.5 },
        ],
      });
      expect((await board(cancelling.id)).body.entries).toEqual([
        expect.objectContaining({ run_id: r.id, weighted_score: 0.75 }),
      ]);
    });

    it("takes each scorer's latest score by created_at (then id), whatever the insertion order or source", async () => {
      const exp = await seedExperiment(owner.projectId, { weights: { a: 1 } });
      const laterHuman = await seedRun(exp, {
        scores: [
          { scorer: 'a', value: 0.125, source: ScoreSource.Auto, createdAt: at(10) },
          { scorer: 'a', value: 0.875, source: ScoreSource.Human, createdAt: at(20) },
        ],
      });
      const earlierHumanInsertedLast = await seedRun(exp, {
        scores: [
          { scorer: 'a', value: 0.75, source: ScoreSource.Auto, createdAt: at(30) },
          { scorer: 'a', value: 0.0625, source: ScoreSource.Human, createdAt: at(5) },
        ],
      });
      const tie = await seedRun(exp, {
        scores: [
          {
            scorer: 'a',
            value: 0.5,
            source: ScoreSource.Human,
            createdAt: at(40),
            id: 'ffffffff-0000-4000-8000-000000000000',
          },
          {
            scorer: 'a',
            value: 0.25,
            source: ScoreSource.Human,
            createdAt: at(40),
            id: '00000000-0000-4000-8000-000000000000',
          },
        ],
      });
      const res = await board(exp.id);
      expect(
        res.body.entries.map((e: { run_id: string; scores: Record<string, number> }) => [e.run_id, e.scores.a]),
      ).toEqual([
        [laterHuman.id, 0.875],
        [earlierHumanInsertedLast.id, 0.75],
        [tie.id, 0.5],
      ]);
    });

    it('ranks only completed runs with a score; ties by earlier completed_at then id; total before top_n', async () => {
      const exp = await seedExperiment(owner.projectId);
      const same = at(9000);
      const idLow = '00000000-1111-4000-8000-000000000001';
      const idHigh = 'ffffffff-1111-4000-8000-000000000001';
      const tieHigh = await seedRun(exp, { id: idHigh, completedAt: same, scores: [{ scorer: 'a', value: 0.5 }] });
      const tieLow = await seedRun(exp, { id: idLow, completedAt: same, scores: [{ scorer: 'a', value: 0.5 }] });
      const tieEarlier = await seedRun(exp, { completedAt: at(8000), scores: [{ scorer: 'a', value: 0.5 }] });
      const best = await seedRun(exp, { scores: [{ scorer: 'a', value: 0.75 }] });
      const worst = await seedRun(exp, { scores: [{ scorer: 'a', value: 0 }] });
      for (const status of [RunStatus.Pending, RunStatus.Running, RunStatus.Failed, RunStatus.Cancelled]) {
        await seedRun(exp, { status, scores: [{ scorer: 'a', value: 1 }] });
      }
      await seedRun(exp, { status: RunStatus.Completed, scores: [] });
      const res = await board(exp.id);
      expect(res.body.total).toBe(5);
      expect(res.body.entries.map((e: { run_id: string }) => e.run_id)).toEqual([
        best.id,
        tieEarlier.id,
        tieLow.id,
        tieHigh.id,
        worst.id,
      ]);
      const top2 = await board(exp.id, { top_n: 2 });
      expect(top2.body.total).toBe(5);
      expect(top2.body.entries.map((e: { run_id: string }) => e.run_id)).toEqual([best.id, tieEarlier.id]);
      // The cut falls inside the tie: the lower id is kept.
      const top3 = await board(exp.id, { top_n: 3 });
      expect(top3.body.entries.map((e: { run_id: string }) => e.run_id)).toEqual([best.id, tieEarlier.id, tieLow.id]);
      const top1 = await board(exp.id, { top_n: 1 }, viewer.token);
      expect(top1.status).toBe(200);
      expect(top1.body.entries).toHaveLength(1);
    });

    it('matches the contract ranking on a random experiment (default top_n 10, then top_n 100)', async () => {
      const weights = { s0: 2, s1: 1, s3: 5 };
      const exp = await seedExperiment(owner.projectId, { weights });
      const rnd = prng(42);
      const statuses = [
        RunStatus.Completed,
        RunStatus.Completed,
        RunStatus.Completed,
        RunStatus.Failed,
        RunStatus.Pending,
      ];
      const runs: Seeded[] = [];
      for (let i = 0; i < 40; i++) {
        const scores: SeedScore[] = [];
        for (let k = 0; k < 1 + Math.floor(rnd() * 5); k++) {
          const scorer = `s${Math.floor(rnd() * 4)}`;
          // Sixteenths keep every mean exact, so ties are real ties on both sides.
          scores.push({
            scorer,
            value: Math.floor(rnd() * 17) / 16,
            source: ScoreSource.Human,
            createdAt: at(Math.floor(rnd() * 4)),
          });
        }
        runs.push(
          await seedRun(exp, {
            status: statuses[i % statuses.length],
            completedAt: at(100 + Math.floor(rnd() * 3)),
            scores: i % 7 === 6 ? [] : scores,
          }),
        );
      }
      const want = rank(runs, weights);
      expect(want.length).toBeGreaterThan(10);
      const shape = (e: ReturnType<typeof rank>[number]) => ({
        run_id: e.run_id,
        weighted_score: e.weighted_score,
        scores: e.scores,
      });
      const dflt = await board(exp.id);
      expect(dflt.body.total).toBe(want.length);
      expect(
        dflt.body.entries.map(({ run_id, weighted_score, scores }: ReturnType<typeof shape>) => ({
          run_id,
          weighted_score,
          scores,
        })),
      ).toEqual(want.slice(0, 10).map(shape));
      const all = await board(exp.id, { top_n: 100 });
      expect(
        all.body.entries.map(({ run_id, weighted_score, scores }: ReturnType<typeof shape>) => ({
          run_id,
          weighted_score,
          scores,
        })),
      ).toEqual(want.map(shape));
    });

    it('is one SQL statement: the score read model, or the set-based ranking while the model has other weights', async () => {
      const exp = await seedExperiment(owner.projectId, { weights: { a: 1 } });
      await seedRun(exp, {
        scores: [
          { scorer: 'a', value: 1 },
          { scorer: 'a', value: 0.5, source: ScoreSource.Human },
        ],
      });
      await seedRun(exp, { scores: [{ scorer: 'b', value: 1 }] });
      let total = -1;
      const queries = await queriesDuring(async () => {
        const res = await board(exp.id, { top_n: 1 });
        expect(res.status).toBe(200);
        total = res.body.total;
      });
      expect(total).toBe(2);
      const runQueries = queries.filter(touchesRunData);
      expect(runQueries).toHaveLength(1);
      // The score read model answers (an index scan of top_n rows)…
      expect(runQueries[0]).toMatch(/FROM run_values rv/);

      // …and while it holds values of other weights (a PATCH whose rebuild has not run yet), the
      // set-based statement does, with the new weights.
      await t.dataSource.query(`UPDATE experiments SET scoring_config = $2 WHERE id = $1`, [
        exp.id,
        JSON.stringify({ scorers: [], weights: { b: 1 } }),
      ]);
      let top: { total: number; entries: { weighted_score: number; scores: Record<string, number> }[] } | null = null;
      const stale = await queriesDuring(async () => {
        top = (await board(exp.id, { top_n: 2 })).body;
      });
      const staleRunQueries = stale.filter(touchesRunData);
      expect(staleRunQueries).toHaveLength(1);
      expect(staleRunQueries[0]).toMatch(/DISTINCT ON/);
      expect(top!.total).toBe(2);
      // Run 1 has only scorer a (weight 0 → plain mean of its latest, 0.5); run 2 has b = 1.
      expect(top!.entries.map((e) => e.weighted_score)).toEqual([1, 0.5]);
      await t.app.get(ScoreReadModel).rebuild(exp.id);
      const rebuilt = await board(exp.id, { top_n: 2 });
      expect(rebuilt.body).toMatchObject({ total: 2, entries: top!.entries });
    });

    it('validates top_n and ids; 404 for unknown and foreign experiments; an empty board for an experiment without ranked runs', async () => {
      const exp = await seedExperiment(owner.projectId);
      for (const top_n of [0, 101, -1, 'ten', 2.5, '']) {
        const res = await board(exp.id, { top_n });
        expect({ top_n, status: res.status }).toEqual({ top_n, status: 400 });
      }
      expect((await board(exp.id, { top_n: 100 })).body).toEqual({ experiment_id: exp.id, entries: [], total: 0 });
      expect((await board('not-a-uuid')).status).toBe(400);
      const foreign = await seedExperiment(stranger.projectId);
      for (const [id, token] of [
        [randomUUID(), owner.token],
        [foreign.id, owner.token],
        [foreign.id, ownerKey],
        [exp.id, strangerKey],
      ]) {
        const res = await board(id, {}, token);
        expect(res.body).toEqual({ statusCode: 404, message: 'Experiment not found', error: 'Not Found' });
      }
    });
  });

  it('publishes the runs routes in the OpenAPI spec with snake_case DTOs and a numeric cost_estimate', async () => {
    const spec = (await request(t.http).get('/docs-json')).body;
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/api/runs',
        '/api/runs/{id}',
        '/api/runs/{id}/score',
        '/api/runs/{id}/cancel',
        '/api/runs/leaderboard/{experiment_id}',
      ]),
    );
    const schemas = spec.components.schemas;
    expect(schemas.RunResponseDto.properties.cost_estimate.type).toBe('number');
    expect(Object.keys(schemas.RunResponseDto.properties).sort()).toEqual([...RUN_KEYS].sort());
    expect(schemas.RunDetailResponseDto.properties.scoring_errors.description).toMatch(/Beyond the reference/);
    expect(Object.keys(spec.paths['/api/runs/{id}/cancel'].post.responses)).toEqual(
      expect.arrayContaining(['202', '409']),
    );
  });
});
