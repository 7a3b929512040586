import { request as httpRequest, type IncomingMessage } from 'node:http';
import request from 'supertest';
import { RUN_JOB_ATTEMPTS } from '../src/execution/execution.constants';
import { createTestApp, type TestApp } from './support/app';
import {
  addMember,
  bearer,
  createApiKey,
  insertScore,
  insertStageResult,
  registerUser,
  type TestUser,
} from './support/factories';
import { waitFor } from './support/wait';
import { type ExperimentProgress } from '../src/events/run-event';

jest.setTimeout(60_000);

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
/** Provider calls per delivery (LlmClient retries); a run fails after RUN_JOB_ATTEMPTS deliveries. */
const PROVIDER_ATTEMPTS = 2;

/** 2 prompts × 3 temperatures × 5 inputs = 30 runs on mock:echo. */
function gridConfig(params: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    prompts: ['Summarise: {{ticket}}', 'TL;DR of this ticket: {{ticket}}'],
    models: ['mock:echo'],
    params: { temperature: [0, 0.5, 1], ...params },
    inputs: [1, 2, 3, 4, 5].map((i) => ({ ticket: `ticket number ${i} asks for a refund`, expected: `refund ${i}` })),
  };
}

const scoringConfig = {
  scorers: [
    { name: 'has_refund', type: 'contains', params: { value: 'refund', case_sensitive: false } },
    { name: 'has_three', type: 'contains', params: { value: 'number 3' } },
  ],
  weights: { has_refund: 1, has_three: 3 },
};

type Progress = ExperimentProgress;

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF records). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field !== '' || record.length > 0) throw new Error('CSV does not end with CRLF');
  return records;
}

interface SseEvent {
  event: string;
  data: any;
}

/** A real HTTP client for the event stream: collects events until the server ends the stream. */
function openEventStream(
  baseUrl: string,
  path: string,
  token: string,
): Promise<{ status: number; events: SseEvent[]; comments: number; ended: Promise<void>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${baseUrl}${path}`,
      { headers: { ...bearer(token), Accept: 'text/event-stream' } },
      (res: IncomingMessage) => {
        const events: SseEvent[] = [];
        let comments = 0;
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let sep: number;
          while ((sep = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, sep);
            buffer = buffer.slice(sep + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) comments++;
              else if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length > 0) events.push({ event, data: JSON.parse(data.join('\n')) });
          }
        });
        const ended = new Promise<void>((done) => res.on('close', () => done()));
        resolve({
          status: res.statusCode ?? 0,
          events,
          get comments() {
            return comments;
          },
          ended,
          close: () => req.destroy(),
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('experiments (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;
  let viewer: TestUser;
  let editor: TestUser;
  let stranger: TestUser;
  let baseUrl: string;

  const create = async (user: TestUser, body: Record<string, unknown> = {}) => {
    const res = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({ name: 'grid', config: gridConfig(), scoring_config: scoringConfig, ...body });
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { id: string; project_id: string; status: string };
  };
  const progressOf = async (id: string, user = alice): Promise<Progress & { status: string }> => {
    const res = await request(t.http).get(`/api/experiments/${id}`).set(bearer(user.token));
    expect(res.status).toBe(200);
    return { ...res.body.progress, status: res.body.status };
  };
  const runsOf = (
    id: string,
  ): Promise<Array<{ id: string; status: string; attempt: number; config: any; completed_at: Date | null }>> =>
    t.dataSource.query(
      `SELECT id, status, attempt, config, completed_at FROM runs WHERE experiment_id = $1 ORDER BY id`,
      [id],
    );

  beforeAll(async () => {
    // A short lease: executions of cancelled runs notice within a second and free their slot.
    t = await createTestApp({
      listen: true,
      // The dry-run estimates price openai: models; a key makes them usable (they are never called).
      env: { PROVIDER_MAX_ATTEMPTS: String(PROVIDER_ATTEMPTS), RUN_LEASE_MS: '3000', OPENAI_API_KEY: 'sk-unused' },
    });
    baseUrl = await t.app.getUrl();
    alice = await registerUser(t.http, { name: 'Alice' });
    viewer = await registerUser(t.http);
    editor = await registerUser(t.http);
    stranger = await registerUser(t.http);
    await addMember(t.http, alice, alice.projectId, viewer, 'viewer');
    await addMember(t.http, alice, alice.projectId, editor, 'editor');
  });
  afterAll(async () => {
    await t.close();
  });

  describe('create, read, list, update, delete', () => {
    it("creates a draft in the caller's personal project and reads it back with zero progress", async () => {
      const res = await request(t.http)
        .post('/api/experiments')
        .set(bearer(alice.token))
        .send({ name: 'first', description: 'd', config: gridConfig(), scoring_config: scoringConfig });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        project_id: alice.projectId,
        name: 'first',
        description: 'd',
        config: gridConfig(),
        scoring_config: scoringConfig,
        status: 'draft',
        created_at: expect.any(String),
        updated_at: expect.any(String),
        launched_at: null,
        completed_at: null,
        stop_reason: null,
        budget_usd: null,
        spend: { cost_usd: 0, judge_cost_usd: 0 },
      });
      const got = await request(t.http).get(`/api/experiments/${res.body.id}`).set(bearer(viewer.token));
      expect(got.status).toBe(200);
      expect(got.body.progress).toEqual({
        total: 0,
        pending: 0,
        running: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
        cached: 0,
      });
    });

    it('puts an API key’s experiment in its project, and refuses other projects', async () => {
      const { key } = await createApiKey(t.http, alice, alice.projectId);
      const res = await request(t.http)
        .post('/api/experiments')
        .set(bearer(key))
        .send({ name: 'by key', config: gridConfig() });
      expect(res.status).toBe(201);
      expect(res.body.project_id).toBe(alice.projectId);
      const other = await request(t.http)
        .post('/api/experiments')
        .set(bearer(key))
        .send({ name: 'x', project_id: stranger.projectId, config: gridConfig() });
      expect(other.status).toBe(404);
    });

    it('needs the editor role to create: viewer 403, stranger 404', async () => {
      const asViewer = await request(t.http)
        .post('/api/experiments')
        .set(bearer(viewer.token))
        .send({ name: 'x', project_id: alice.projectId, config: gridConfig() });
      expect(asViewer.status).toBe(403);
      const asStranger = await request(t.http)
        .post('/api/experiments')
        .set(bearer(stranger.token))
        .send({ name: 'x', project_id: alice.projectId, config: gridConfig() });
      expect(asStranger.status).toBe(404);
      const asEditor = await request(t.http)
        .post('/api/experiments')
        .set(bearer(editor.token))
        .send({ name: 'x', project_id: alice.projectId, config: gridConfig() });
      expect(asEditor.status).toBe(201);
    });

    it('answers 400 listing every problem, naming the field, the input index and the scorer', async () => {
      const res = await request(t.http)
        .post('/api/experiments')
        .set(bearer(alice.token))
        .send({
          name: 'bad',
          config: {
            prompts: ['Hello {{name}} from {{city}}', ''],
            models: ['mock:echo', 'nope:model'],
            params: { temperature: [], nested: { $sweep: [] } },
            inputs: [{ name: 'a', city: 'b' }, { name: 'c' }, 'text'],
            stages: [{ name: 'two', prompt: '{{stages.one.output}}' }],
            repetitions: 1000,
          },
          scoring_config: { scorers: [{ name: 'm', type: 'similiarity', params: {} }], weights: { ghost: 1 } },
        });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('Bad Request');
      const messages: string[] = res.body.message;
      const text = messages.join('\n');
      expect(text).toContain('config.prompts[1] must be a non-empty string');
      expect(text).toMatch(/config\.models\[1\].*nope/);
      expect(text).toContain('config.params.temperature is an empty list');
      expect(text).toContain('config.params.nested.$sweep must be a non-empty list of values');
      expect(text).toContain('config.inputs[1] lacks {{city}} (used by config.prompts[0])');
      expect(text).toContain('config.inputs[2] must be an object');
      expect(text).toMatch(/config\.stages\[0\]\.prompt uses \{\{stages\.one\.output\}\} but no stage is named "one"/);
      expect(text).toContain('config.repetitions must be an integer from 1 to 100');
      expect(text).toMatch(/scoring_config\.scorers\[0\] \(name "m"\): unknown type "similiarity"/);
      expect(text).toMatch(/scoring_config\.weights\["ghost"\]/);
    });

    it('rejects unknown and malformed top-level fields with 400, never 500', async () => {
      const unknown = await request(t.http)
        .post('/api/experiments')
        .set(bearer(alice.token))
        .send({ name: 'x', config: gridConfig(), colour: 'red' });
      expect(unknown.status).toBe(400);
      expect(unknown.body.message).toEqual(expect.arrayContaining(['property colour should not exist']));
      for (const body of [
        { name: 'x' },
        { name: 'x', config: 'nope' },
        { name: 'x', config: [] },
        { name: '', config: gridConfig() },
        { name: 'x', config: null },
        { name: 'x', config: { prompts: null } },
      ]) {
        const res = await request(t.http).post('/api/experiments').set(bearer(alice.token)).send(body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
      }
      const badProject = await request(t.http)
        .post('/api/experiments')
        .set(bearer(alice.token))
        .send({ name: 'x', config: gridConfig(), project_id: 'nope' });
      expect(badProject.status).toBe(400);
    });

    it('lists only the caller’s projects, newest first, filtered and paginated', async () => {
      const mine = await create(stranger, { name: 'stranger-a' });
      const second = await create(stranger, { name: 'stranger-b' });
      const list = await request(t.http).get('/api/experiments').set(bearer(stranger.token));
      expect(list.status).toBe(200);
      expect(list.body.total).toBe(2);
      expect(list.body.items.map((e: { id: string }) => e.id)).toEqual([second.id, mine.id]);
      const page = await request(t.http).get('/api/experiments?limit=1&offset=1').set(bearer(stranger.token));
      expect(page.body).toEqual({ items: [expect.objectContaining({ id: mine.id })], total: 2 });
      const other = await request(t.http)
        .get(`/api/experiments?project_id=${alice.projectId}`)
        .set(bearer(stranger.token));
      expect(other.body).toEqual({ items: [], total: 0 });
      const aliceList = await request(t.http)
        .get(`/api/experiments?project_id=${alice.projectId}&status=draft`)
        .set(bearer(viewer.token));
      expect(aliceList.body.total).toBeGreaterThan(0);
      expect(
        aliceList.body.items.every(
          (e: { project_id: string; status: string }) => e.project_id === alice.projectId && e.status === 'draft',
        ),
      ).toBe(true);
      expect((await request(t.http).get('/api/experiments?status=weird').set(bearer(alice.token))).status).toBe(400);
      expect((await request(t.http).get('/api/experiments?limit=0').set(bearer(alice.token))).status).toBe(400);
    });

    it('answers 400 for a bad uuid, 404 for strangers and unknown ids, 403 for viewers writing', async () => {
      const exp = await create(alice);
      expect((await request(t.http).get('/api/experiments/not-a-uuid').set(bearer(alice.token))).status).toBe(400);
      const unknown = await request(t.http).get(`/api/experiments/${UNKNOWN_ID}`).set(bearer(alice.token));
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ statusCode: 404, message: 'Experiment not found', error: 'Not Found' });
      const writes = [
        ['patch', ''],
        ['delete', ''],
        ['post', '/launch'],
        ['post', '/cancel'],
        ['post', '/retry-failed'],
        ['post', '/rescore'],
      ] as const;
      const reads = [
        ['get', ''],
        ['get', '/events'],
        ['get', '/export'],
      ] as const;
      for (const [method, path] of [...reads, ...writes]) {
        const res = await request(t.http)
          [method](`/api/experiments/${exp.id}${path}`)
          .set(bearer(stranger.token))
          .send({});
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      }
      for (const [method, path] of writes) {
        const res = await request(t.http)
          [method](`/api/experiments/${exp.id}${path}`)
          .set(bearer(viewer.token))
          .send({});
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
      }
    });

    it('patches a draft, validates the change, and freezes config once launched (scoring_config stays editable)', async () => {
      const exp = await create(alice);
      const renamed = await request(t.http)
        .patch(`/api/experiments/${exp.id}`)
        .set(bearer(editor.token))
        .send({ name: 'renamed', description: null });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ name: 'renamed', description: null, status: 'draft' });
      const newConfig = { ...gridConfig(), repetitions: 2 };
      const patched = await request(t.http)
        .patch(`/api/experiments/${exp.id}`)
        .set(bearer(alice.token))
        .send({ config: newConfig });
      expect(patched.status).toBe(200);
      expect(patched.body.config).toEqual(newConfig);
      const invalidPatch = await request(t.http)
        .patch(`/api/experiments/${exp.id}`)
        .set(bearer(alice.token))
        .send({ config: { ...newConfig, inputs: [{}] } });
      expect(invalidPatch.status).toBe(400);
      expect(invalidPatch.body.message).toEqual([
        'config.inputs[0] lacks {{ticket}} (used by config.prompts[0], config.prompts[1])',
      ]);
      expect(
        (await request(t.http).patch(`/api/experiments/${exp.id}`).set(bearer(alice.token)).send({ config: null }))
          .status,
      ).toBe(400);
      expect(
        (await request(t.http).patch(`/api/experiments/${exp.id}`).set(bearer(alice.token)).send({ status: 'running' }))
          .status,
      ).toBe(400);

      expect(
        (await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(alice.token)).send({})).status,
      ).toBe(202);
      const frozen = await request(t.http)
        .patch(`/api/experiments/${exp.id}`)
        .set(bearer(alice.token))
        .send({ config: gridConfig() });
      expect(frozen.status).toBe(409);
      const scoring = await request(t.http)
        .patch(`/api/experiments/${exp.id}`)
        .set(bearer(alice.token))
        .send({
          scoring_config: { scorers: [{ name: 'exact', type: 'exact_match', params: { expected_field: 'expected' } }] },
          name: 'after launch',
        });
      expect(scoring.status).toBe(200);
      expect(scoring.body).toMatchObject({
        name: 'after launch',
        scoring_config: { scorers: [expect.objectContaining({ name: 'exact' })] },
      });
      const badScoring = await request(t.http)
        .patch(`/api/experiments/${exp.id}`)
        .set(bearer(alice.token))
        .send({ scoring_config: { scorers: [{ name: 'x', type: 'nope' }] } });
      expect(badScoring.status).toBe(400);
      expect(badScoring.body.message.join('\n')).toMatch(/scoring_config\.scorers\[0\] \(name "x"\)/);
    });
  });

  describe('launch', () => {
    it('dry run: plans and estimates without creating anything', async () => {
      const exp = await create(alice);
      const dry = await request(t.http)
        .post(`/api/experiments/${exp.id}/launch`)
        .set(bearer(alice.token))
        .send({ dry_run: true });
      expect(dry.status).toBe(202);
      expect(dry.body).toEqual({
        runs_planned: 30,
        runs_created: 0,
        estimated_cost: 0,
        budget_usd: null,
        fits_budget: null,
      });
      expect(await runsOf(exp.id)).toHaveLength(0);
      expect((await progressOf(exp.id)).status).toBe('draft');

      const priced = await create(alice, {
        config: { ...gridConfig({ max_tokens: 100 }), models: ['openai:gpt-4o-mini'] },
      });
      const pricedDry = await request(t.http)
        .post(`/api/experiments/${priced.id}/launch`)
        .set(bearer(alice.token))
        .send({ dry_run: true });
      // "Summarise: ticket number N asks for a refund" = 8 words → 11 tokens; the TL;DR prompt 11 words → 15; out: 100
      const perInput = (11 * 0.15 + 100 * 0.6) / 1e6 + (15 * 0.15 + 100 * 0.6) / 1e6;
      expect(pricedDry.body.runs_planned).toBe(30);
      expect(pricedDry.body.estimated_cost).toBeCloseTo(perInput * 15, 10);

      const unpriced = await create(alice, {
        config: { ...gridConfig(), models: ['mock:echo', 'openai:some-unpriced-model'] },
      });
      const unpricedDry = await request(t.http)
        .post(`/api/experiments/${unpriced.id}/launch`)
        .set(bearer(alice.token))
        .send({ dry_run: true });
      expect(unpricedDry.body).toEqual({
        runs_planned: 60,
        runs_created: 0,
        estimated_cost: null,
        budget_usd: null,
        fits_budget: null,
      });
    });

    it('refuses a grid over the limit naming both numbers, default 10,000, and bad bodies', async () => {
      const exp = await create(alice);
      const over = await request(t.http)
        .post(`/api/experiments/${exp.id}/launch`)
        .set(bearer(alice.token))
        .send({ max_runs: 20 });
      expect(over.status).toBe(400);
      expect(over.body.message.join(' ')).toMatch(/30 runs.*limit of 20/);
      const big = await create(alice, {
        config: gridConfig({ seed: { $sweep: Array.from({ length: 667 }, (_, i) => i) } }),
      });
      const overDefault = await request(t.http)
        .post(`/api/experiments/${big.id}/launch`)
        .set(bearer(alice.token))
        .send({ dry_run: true });
      expect(overDefault.status).toBe(400);
      expect(overDefault.body.message.join(' ')).toMatch(/20010 runs.*limit of 10000/);
      expect(await runsOf(exp.id)).toHaveLength(0);
      expect((await progressOf(exp.id)).status).toBe('draft');
      for (const body of [
        { max_runs: 0 },
        { max_runs: 1_000_001 },
        { max_runs: 1.5 },
        { dry_run: 'yes' },
        { force: true },
      ]) {
        const res = await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(alice.token)).send(body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
      }
    });

    it('inserts every run pending with its grid config, and a second launch is 409 (also when concurrent)', async () => {
      const exp = await create(alice, { config: { ...gridConfig({ mock_latency_ms: 60_000 }), cache: false } });
      const [a, b] = await Promise.all([
        request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(alice.token)).send({}),
        request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(editor.token)).send({}),
      ]);
      expect([a.status, b.status].sort()).toEqual([202, 409]);
      const ok = a.status === 202 ? a : b;
      expect(ok.body).toEqual({ runs_planned: 30, runs_created: 30, estimated_cost: 0 });
      const runs = await runsOf(exp.id);
      expect(runs).toHaveLength(30);
      const prompts = gridConfig().prompts as string[];
      expect(runs.map((r) => r.config.prompt)).toEqual([...Array(15).fill(prompts[0]), ...Array(15).fill(prompts[1])]);
      expect(runs[0].config).toEqual({
        prompt: 'Summarise: {{ticket}}',
        model: 'mock:echo',
        params: { mock_latency_ms: 60_000, temperature: 0 },
        input_data: { ticket: 'ticket number 1 asks for a refund', expected: 'refund 1' },
        repetition: 0,
        cache: false,
      });
      const again = await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(alice.token)).send({});
      expect(again.status).toBe(409);
      const detail = await request(t.http).get(`/api/experiments/${exp.id}`).set(bearer(alice.token));
      expect(detail.body).toMatchObject({ status: 'running', launched_at: expect.any(String) });
      expect(detail.body.progress.total).toBe(30);
      await request(t.http).post(`/api/experiments/${exp.id}/cancel`).set(bearer(alice.token)).expect(202);
    });
    it('launches a grid larger than one INSERT batch completely and in grid order', async () => {
      // 2 prompts × 3 temperatures × 5 inputs × 80 seeds × 5 repetitions = 12,000 runs: three batches.
      const exp = await create(alice, {
        config: {
          ...gridConfig({ mock_latency_ms: 60_000, seed: { $sweep: Array.from({ length: 80 }, (_, i) => i) } }),
          repetitions: 5,
        },
      });
      const res = await request(t.http)
        .post(`/api/experiments/${exp.id}/launch`)
        .set(bearer(alice.token))
        .send({ max_runs: 12_000 });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ runs_planned: 12_000, runs_created: 12_000, estimated_cost: 0 });
      await request(t.http).post(`/api/experiments/${exp.id}/cancel`).set(bearer(alice.token)).expect(202);
      const rows: Array<{ prompt: string; temperature: number; seed: number; ticket: string; repetition: number }> =
        await t.dataSource.query(
          `SELECT config->>'prompt' AS prompt, (config->'params'->>'temperature')::float8 AS temperature, (config->'params'->>'seed')::int AS seed,
                config->'input_data'->>'ticket' AS ticket, repetition
           FROM runs WHERE experiment_id = $1 ORDER BY id`,
          [exp.id],
        );
      expect(rows).toHaveLength(12_000);
      // ids sort in grid order: prompts, then sweeps (seed, then temperature), then inputs, then repetitions
      expect(rows.slice(0, 6).map((r) => [r.seed, r.temperature, r.ticket.slice(14, 15), r.repetition])).toEqual([
        [0, 0, '1', 0],
        [0, 0, '1', 1],
        [0, 0, '1', 2],
        [0, 0, '1', 3],
        [0, 0, '1', 4],
        [0, 0, '2', 0],
      ]);
      expect(rows[5999]).toMatchObject({ prompt: 'Summarise: {{ticket}}', seed: 79, temperature: 1, repetition: 4 });
      expect(rows[6000]).toMatchObject({
        prompt: 'TL;DR of this ticket: {{ticket}}',
        seed: 0,
        temperature: 0,
        repetition: 0,
      });
      const [{ hashes }] = await t.dataSource.query(
        `SELECT count(DISTINCT config_hash)::int AS hashes FROM runs WHERE experiment_id = $1`,
        [exp.id],
      );
      expect(hashes).toBe(12_000 / 5);
    });
  });

  describe('cancel, delete', () => {
    it('cancel: no run stays pending or running; idempotent; 409 on a draft', async () => {
      const draft = await create(alice);
      expect((await request(t.http).post(`/api/experiments/${draft.id}/cancel`).set(bearer(alice.token))).status).toBe(
        409,
      );
      const exp = await create(alice, { config: gridConfig({ mock_latency_ms: 60_000 }) });
      await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(alice.token)).send({}).expect(202);
      const res = await request(t.http).post(`/api/experiments/${exp.id}/cancel`).set(bearer(editor.token));
      expect(res.status).toBe(202);
      expect(res.body.runs_cancelled).toBe(30);
      const p = await progressOf(exp.id);
      expect(p).toMatchObject({ status: 'cancelled', total: 30, pending: 0, running: 0, cancelled: 30 });
      const again = await request(t.http).post(`/api/experiments/${exp.id}/cancel`).set(bearer(alice.token));
      expect(again.body).toEqual({ runs_cancelled: 0 });
      expect(
        (await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(alice.token)).send({})).status,
      ).toBe(409);
    });

    it('delete removes the experiment with its runs, stage results and scores', async () => {
      const exp = await create(alice, { config: gridConfig({ mock_latency_ms: 60_000 }) });
      await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(alice.token)).send({}).expect(202);
      await request(t.http).post(`/api/experiments/${exp.id}/cancel`).set(bearer(alice.token)).expect(202);
      const [run] = await runsOf(exp.id);
      await insertStageResult(t.dataSource, run.id);
      await insertScore(t.dataSource, run.id, { scorerName: 'human', value: 1, source: 'human' });
      const res = await request(t.http).delete(`/api/experiments/${exp.id}`).set(bearer(editor.token));
      expect(res.status).toBe(204);
      expect((await request(t.http).get(`/api/experiments/${exp.id}`).set(bearer(alice.token))).status).toBe(404);
      const [counts] = await t.dataSource.query(
        `SELECT (SELECT count(*) FROM runs WHERE experiment_id = $1)::int AS runs,
                (SELECT count(*) FROM stage_results WHERE run_id = $2)::int AS stages,
                (SELECT count(*) FROM scores WHERE run_id = $2)::int AS scores`,
        [exp.id, run.id],
      );
      expect(counts).toEqual({ runs: 0, stages: 0, scores: 0 });
    });
  });

  describe('export and events on a launched experiment', () => {
    it('rejects an unknown export format and serves pending runs as CSV and JSONL attachments', async () => {
      const exp = await create(alice, { config: gridConfig({ mock_latency_ms: 60_000 }) });
      await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(alice.token)).send({}).expect(202);
      await request(t.http).post(`/api/experiments/${exp.id}/cancel`).set(bearer(alice.token)).expect(202);
      expect(
        (await request(t.http).get(`/api/experiments/${exp.id}/export?format=xml`).set(bearer(alice.token))).status,
      ).toBe(400);
      const csv = await request(t.http).get(`/api/experiments/${exp.id}/export`).set(bearer(viewer.token)).buffer(true);
      expect(csv.status).toBe(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      expect(csv.headers['content-disposition']).toBe(`attachment; filename="experiment-${exp.id}.csv"`);
      const [header, ...rows] = parseCsv(csv.text);
      expect(header).toEqual([
        'run_id',
        'status',
        'prompt',
        'model',
        'param.mock_latency_ms',
        'param.temperature',
        'dataset_item_key',
        'input.ticket',
        'input.expected',
        'repetition',
        'output',
        'tokens_in',
        'tokens_out',
        'cost_estimate',
        'duration_ms',
        'cache_hit',
        'error',
        'finish_reason',
        'tool_calls',
        'score.has_refund',
        'score.has_three',
        'weighted_score',
      ]);
      expect(rows).toHaveLength(30);
      expect(rows[0]).toEqual([
        expect.any(String),
        'cancelled',
        'Summarise: {{ticket}}',
        'mock:echo',
        '60000',
        '0',
        '',
        'ticket number 1 asks for a refund',
        'refund 1',
        '0',
        '',
        '',
        '',
        '',
        '',
        'false',
        '',
        '',
        '',
        '',
        '',
        '',
      ]);
      const jsonl = await request(t.http)
        .get(`/api/experiments/${exp.id}/export?format=jsonl`)
        .set(bearer(alice.token))
        .buffer(true);
      expect(jsonl.status).toBe(200);
      expect(jsonl.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const lines = jsonl.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(30);
      expect(lines.map((l) => l.run_id)).toEqual(rows.map((r) => r[0]));
      expect(lines[29]).toMatchObject({
        status: 'cancelled',
        prompt: 'TL;DR of this ticket: {{ticket}}',
        params: { temperature: 1 },
        input_data: { ticket: 'ticket number 5 asks for a refund' },
        scores: {},
        weighted_score: null,
      });
    });

    it('events: a viewer gets the progress first, then the stream ends when the experiment is cancelled', async () => {
      const exp = await create(alice, { config: gridConfig({ mock_latency_ms: 60_000 }) });
      const stream = await openEventStream(baseUrl, `/api/experiments/${exp.id}/events`, viewer.token);
      try {
        expect(stream.status).toBe(200);
        await waitFor(() => stream.events.length > 0, { what: 'first event' });
        expect(stream.events[0]).toEqual({
          event: 'experiment.progress',
          data: expect.objectContaining({
            type: 'experiment.progress',
            experiment_id: exp.id,
            progress: expect.objectContaining({ total: 0 }),
          }),
        });
        await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(alice.token)).send({}).expect(202);
        await request(t.http).post(`/api/experiments/${exp.id}/cancel`).set(bearer(alice.token)).expect(202);
        await stream.ended;
        const runIds = new Set((await runsOf(exp.id)).map((r) => r.id));
        const cancelledEvents = stream.events.filter((e) => e.event === 'run.status' && e.data.status === 'cancelled');
        expect(new Set(cancelledEvents.map((e) => e.data.run_id))).toEqual(runIds);
        expect(stream.events[stream.events.length - 1]).toEqual({
          event: 'experiment.status',
          data: expect.objectContaining({ status: 'cancelled' }),
        });
      } finally {
        stream.close();
      }
      // An ended experiment: progress and status, then the end.
      const late = await openEventStream(baseUrl, `/api/experiments/${exp.id}/events`, alice.token);
      await late.ended;
      expect(late.events.map((e) => e.event)).toEqual(['experiment.progress', 'experiment.status']);
    });
  });

  describe('execution end to end (mock:echo)', () => {
    let owner: TestUser;
    let exp: { id: string };
    let stream: Awaited<ReturnType<typeof openEventStream>>;
    const polls: Array<Progress & { status: string }> = [];

    beforeAll(async () => {
      // A fresh project: nothing of the other tests can serve these runs from the cache.
      owner = await registerUser(t.http);
      exp = await create(owner, { name: 'full loop' });
      stream = await openEventStream(baseUrl, `/api/experiments/${exp.id}/events`, owner.token);
      await waitFor(() => stream.events.length > 0, { what: 'initial progress event' });
      const launch = await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(owner.token)).send({});
      expect(launch.status).toBe(202);
      expect(launch.body).toEqual({ runs_planned: 30, runs_created: 30, estimated_cost: 0 });
      await waitFor(
        async () => {
          const p = await progressOf(exp.id, owner);
          polls.push(p);
          return p.status === 'completed';
        },
        // Earlier tests cancelled thousands of queued runs: the inline queue dropped them at the
        // cancel, so these runs get slots at once (the default deadline, not one claim per cancelled run).
        { what: 'experiment completed', intervalMs: 20 },
      );
    });
    afterAll(() => stream.close());

    it('runs all 30 runs to completion, and the progress adds up at every poll', async () => {
      expect(polls.length).toBeGreaterThan(0);
      for (const p of polls) {
        expect(p.total).toBe(30);
        expect(p.pending + p.running + p.completed + p.failed + p.cancelled).toBe(p.total);
        expect(p.cached).toBeLessThanOrEqual(p.completed);
      }
      const last = polls[polls.length - 1];
      expect(last).toEqual({
        status: 'completed',
        total: 30,
        pending: 0,
        running: 0,
        completed: 30,
        failed: 0,
        cancelled: 0,
        cached: 0,
      });
      const detail = await request(t.http).get(`/api/experiments/${exp.id}`).set(bearer(owner.token));
      expect(detail.body.completed_at).toEqual(expect.any(String));
      const cancel = await request(t.http).post(`/api/experiments/${exp.id}/cancel`).set(bearer(owner.token));
      expect(cancel.status).toBe(409);
      expect(
        (await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(owner.token)).send({})).status,
      ).toBe(409);
    });

    it('streams an event for every run over real HTTP, and ends when the experiment completes', async () => {
      await stream.ended;
      expect(stream.status).toBe(200);
      expect(stream.events[0].event).toBe('experiment.progress');
      const runIds = (await runsOf(exp.id)).map((r) => r.id);
      const completedIds = new Set(
        stream.events
          .filter((e) => e.event === 'run.status' && e.data.status === 'completed')
          .map((e) => e.data.run_id),
      );
      expect([...completedIds].sort()).toEqual([...runIds].sort());
      for (const e of stream.events) expect(e.data.experiment_id).toBe(exp.id);
      expect(stream.events[stream.events.length - 1]).toEqual({
        event: 'experiment.status',
        data: expect.objectContaining({ status: 'completed' }),
      });
    });

    it('exports a CSV that parses back to the same numbers as the runs API', async () => {
      const res = await request(t.http)
        .get(`/api/experiments/${exp.id}/export?format=csv`)
        .set(bearer(owner.token))
        .buffer(true);
      expect(res.status).toBe(200);
      const [header, ...rows] = parseCsv(res.text);
      expect(rows).toHaveLength(30);
      const col = (name: string) => {
        const i = header.indexOf(name);
        expect({ name, found: i >= 0 }).toEqual({ name, found: true });
        return i;
      };
      for (const row of rows) {
        const api = await request(t.http)
          .get(`/api/runs/${row[col('run_id')]}`)
          .set(bearer(owner.token));
        expect(api.status).toBe(200);
        const run = api.body;
        expect(row[col('status')]).toBe(run.status);
        expect(row[col('prompt')]).toBe(run.config.prompt);
        expect(row[col('model')]).toBe(run.config.model);
        expect(Number(row[col('param.temperature')])).toBe(run.config.params.temperature);
        expect(row[col('input.ticket')]).toBe(run.config.input_data.ticket);
        expect(Number(row[col('repetition')])).toBe(run.config.repetition);
        expect(Number(row[col('tokens_in')])).toBe(run.tokens_in);
        expect(Number(row[col('tokens_out')])).toBe(run.tokens_out);
        expect(Number(row[col('cost_estimate')])).toBe(run.cost_estimate);
        expect(Number(row[col('duration_ms')])).toBe(run.duration_ms);
        expect(row[col('cache_hit')]).toBe(String(run.cache_hit));
        // mock:echo answers the rendered prompt
        expect(row[col('output')]).toBe(run.config.prompt.replace('{{ticket}}', run.config.input_data.ticket));
        const scores: Record<string, number> = {};
        for (const sc of run.scores) scores[sc.scorer_name] = sc.value;
        expect(Number(row[col('score.has_refund')])).toBe(scores.has_refund);
        expect(Number(row[col('score.has_three')])).toBe(scores.has_three);
        expect(Number(row[col('weighted_score')])).toBeCloseTo((scores.has_refund * 1 + scores.has_three * 3) / 4, 12);
      }
      const threes = rows.filter((r) => r[col('input.ticket')].includes('number 3'));
      expect(threes.map((r) => r[col('weighted_score')])).toEqual(Array(6).fill('1'));
    });

    it('recomputes scores after a scoring_config change (rescore), and the export shows the new scorer', async () => {
      const scoring = {
        scorers: [...scoringConfig.scorers, { name: 'mentions_ticket', type: 'contains', params: { value: 'ticket' } }],
        weights: scoringConfig.weights,
      };
      expect(
        (
          await request(t.http)
            .patch(`/api/experiments/${exp.id}`)
            .set(bearer(owner.token))
            .send({ scoring_config: scoring })
        ).status,
      ).toBe(200);
      const res = await request(t.http).post(`/api/experiments/${exp.id}/rescore`).set(bearer(owner.token));
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ runs_rescored: 30 });
      const jsonl = await request(t.http)
        .get(`/api/experiments/${exp.id}/export?format=jsonl`)
        .set(bearer(owner.token))
        .buffer(true);
      const lines = jsonl.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(30);
      for (const line of lines)
        expect(line.scores).toEqual({ has_refund: 1, has_three: expect.any(Number), mentions_ticket: 1 });
      const csv = parseCsv(
        (await request(t.http).get(`/api/experiments/${exp.id}/export`).set(bearer(owner.token)).buffer(true)).text,
      );
      expect(csv[0]).toEqual(
        expect.arrayContaining(['score.has_refund', 'score.has_three', 'score.mentions_ticket', 'weighted_score']),
      );
    });
  });

  describe('cancel and retry while executing', () => {
    it('cancel mid-way leaves no run pending or running, and the executor writes nothing more', async () => {
      const owner = await registerUser(t.http);
      const exp = await create(owner, { config: { ...gridConfig({ mock_latency_ms: 300 }), repetitions: 4 } });
      await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(owner.token)).send({}).expect(202);
      await waitFor(async () => (await progressOf(exp.id, owner)).completed > 0, {
        what: 'first completed run',
        intervalMs: 10,
      });
      const res = await request(t.http).post(`/api/experiments/${exp.id}/cancel`).set(bearer(owner.token));
      expect(res.status).toBe(202);
      const after = await progressOf(exp.id, owner);
      expect(after).toMatchObject({ status: 'cancelled', total: 120, pending: 0, running: 0, failed: 0 });
      expect(after.completed).toBeGreaterThan(0);
      expect(after.cancelled).toBeGreaterThan(0);
      expect(after.completed + after.cancelled).toBe(120);
      expect(res.body.runs_cancelled).toBe(after.cancelled);
      const snapshot = await runsOf(exp.id);

      // A later run that takes longer than the cancelled ones' provider calls: once it is done, any
      // write those in-flight executions could still have made would be visible.
      const later = await create(owner, {
        config: {
          prompts: ['later {{x}}'],
          models: ['mock:echo'],
          params: { mock_latency_ms: 600 },
          inputs: [{ x: 1 }],
          cache: false,
        },
      });
      await request(t.http).post(`/api/experiments/${later.id}/launch`).set(bearer(owner.token)).send({}).expect(202);
      await waitFor(async () => (await progressOf(later.id, owner)).status === 'completed', {
        what: 'later experiment',
      });
      expect(await runsOf(exp.id)).toEqual(snapshot);
      const [{ written }] = await t.dataSource.query(
        `SELECT count(*)::int AS written FROM runs WHERE experiment_id = $1 AND status = 'cancelled' AND (output IS NOT NULL OR tokens_in IS NOT NULL)`,
        [exp.id],
      );
      expect(written).toBe(0);
      expect((await progressOf(exp.id, owner)).status).toBe('cancelled');
    });

    it('retry-failed re-runs only the failed runs, with a new attempt, until the experiment completes', async () => {
      const owner = await registerUser(t.http);
      // Half the runs fail every call of their first pass (RUN_JOB_ATTEMPTS deliveries × PROVIDER_ATTEMPTS
      // calls), then succeed on the second call of the retry.
      const failingCalls = RUN_JOB_ATTEMPTS * PROVIDER_ATTEMPTS + 1;
      const exp = await create(owner, {
        config: { ...gridConfig({ mock_error: 'server_error', mock_error_times: [0, failingCalls] }), cache: false },
      });
      expect(
        (await request(t.http).post(`/api/experiments/${exp.id}/retry-failed`).set(bearer(owner.token))).status,
      ).toBe(409);
      await request(t.http).post(`/api/experiments/${exp.id}/launch`).set(bearer(owner.token)).send({}).expect(202);
      await waitFor(async () => (await progressOf(exp.id, owner)).status === 'completed', {
        what: 'first pass',
        timeoutMs: 40_000,
      });
      const first = await progressOf(exp.id, owner);
      expect(first).toMatchObject({ total: 60, completed: 30, failed: 30, pending: 0, running: 0 });
      const before = await runsOf(exp.id);
      const failed = before.filter((r) => r.status === 'failed');
      expect(failed.every((r) => r.config.params.mock_error_times === failingCalls)).toBe(true);
      const [{ errors }] = await t.dataSource.query(
        `SELECT count(*)::int AS errors FROM runs WHERE experiment_id = $1 AND status = 'failed' AND error IS NOT NULL`,
        [exp.id],
      );
      expect(errors).toBe(30);

      const res = await request(t.http).post(`/api/experiments/${exp.id}/retry-failed`).set(bearer(owner.token));
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ runs_requeued: 30 });
      await waitFor(async () => (await progressOf(exp.id, owner)).status === 'completed', {
        what: 'retry pass',
        timeoutMs: 40_000,
      });
      expect(await progressOf(exp.id, owner)).toMatchObject({ total: 60, completed: 60, failed: 0 });
      const after = new Map((await runsOf(exp.id)).map((r) => [r.id, r]));
      for (const run of before) {
        const now = after.get(run.id)!;
        if (run.status === 'completed') {
          expect(now).toEqual(run); // untouched
        } else {
          expect(now.attempt).toBe(run.attempt + 1);
          expect(now.status).toBe('completed');
        }
      }
      const none = await request(t.http).post(`/api/experiments/${exp.id}/retry-failed`).set(bearer(owner.token));
      expect(none.body).toEqual({ runs_requeued: 0 });
      expect((await progressOf(exp.id, owner)).status).toBe('completed');
    });
  });
});
