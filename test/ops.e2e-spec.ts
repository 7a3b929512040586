import request from 'supertest';
import { SseTicketService } from '../src/auth/sse-ticket.service';
import { AppLogger } from '../src/common/app-logger';
import { compareEventIds } from '../src/events/event-log';
import { createTestApp, type TestApp } from './support/app';
import { createExecutionContext, type ExecutionContext } from './support/execution-context';
import { addMember, bearer, registerUser, type TestUser } from './support/factories';
import { startRedis, type TestRedis } from './support/redis';
import { openStream, type SseEvent } from './support/sse-client';
import { waitFor } from './support/wait';

jest.setTimeout(120_000);

const key = (e: SseEvent): string =>
  [e.id, e.event, JSON.stringify([e.data.run_id, e.data.status, e.data.scores, e.data.progress])].join(' ');

/** 12 runs on mock:echo, slow enough that a stream can be dropped and resumed mid-way. */
const slowConfig = {
  prompts: ['Echo {{n}}'],
  models: ['mock:echo'],
  params: { mock_latency_ms: 60 },
  inputs: Array.from({ length: 12 }, (_, i) => ({ n: `item ${i}` })),
};

function sseSuite(mode: 'embedded' | 'redis'): void {
  describe(`SSE ids, Last-Event-ID and tickets (${mode} events, e2e)`, () => {
    let t: TestApp;
    let redis: TestRedis | null = null;
    let worker: ExecutionContext | null = null;
    let alice: TestUser;
    let viewer: TestUser;
    let stranger: TestUser;
    let baseUrl: string;

    beforeAll(async () => {
      const env: Record<string, string> = {};
      if (mode === 'redis') {
        redis = await startRedis();
        env.REDIS_URL = redis.url;
      }
      t = await createTestApp({ env, listen: true });
      if (mode === 'redis') worker = await createExecutionContext({ database: t.database, env, role: 'worker' });
      const address = t.http.address() as { port: number };
      baseUrl = `http://127.0.0.1:${address.port}`;
      alice = await registerUser(t.http);
      viewer = await registerUser(t.http);
      stranger = await registerUser(t.http);
      await addMember(t.http, alice, alice.projectId, viewer, 'viewer');
    });
    afterAll(async () => {
      await worker?.close();
      await t?.close();
      await redis?.stop();
    });

    const createExperiment = async (): Promise<string> => {
      const res = await request(t.http)
        .post('/api/experiments')
        .set(bearer(alice.token))
        .send({ name: 'sse', config: slowConfig });
      expect(res.status).toBe(201);
      return (res.body as { id: string }).id;
    };
    const launch = async (id: string): Promise<void> => {
      const res = await request(t.http).post(`/api/experiments/${id}/launch`).set(bearer(alice.token)).send({});
      expect(res.status).toBe(202);
    };

    it('gives every event an id and resumes after Last-Event-ID without losing or repeating one', async () => {
      const id = await createExperiment();
      const path = `/api/experiments/${id}/events`;
      const reference = await openStream(baseUrl, path, bearer(viewer.token));
      const first = await openStream(baseUrl, path, bearer(viewer.token));
      expect(first.status).toBe(200);
      await waitFor(() => reference.events.length > 0 && first.events.length > 0, { what: 'the snapshots' });
      await launch(id);
      // Drop the first client after a few events, while runs are still going on.
      await waitFor(() => first.events.length >= 4, { what: 'four events', timeoutMs: 60_000 });
      first.close();
      await first.ended;
      const seen = [...first.events];
      const lastId = seen[seen.length - 1].id as string;
      const resumed = await openStream(baseUrl, path, { ...bearer(viewer.token), 'Last-Event-ID': lastId });
      expect(resumed.status).toBe(200);
      await Promise.all([reference.ended, resumed.ended]);

      for (const e of [...reference.events, ...seen, ...resumed.events]) expect(e.id).toMatch(/^\d+-\d+$/);
      expect(reference.events.at(-1)?.data).toMatchObject({ type: 'experiment.status', status: 'completed' });
      const runEvents = reference.events.filter((e) => e.event === 'run.status' && e.data.status === 'completed');
      expect(runEvents).toHaveLength(12);
      // The resumed stream starts right after the last event seen (no snapshot, nothing repeated) ...
      expect(resumed.events[0].id).not.toBe(lastId);
      expect(resumed.events.map(key)).not.toContain(key(seen[seen.length - 1]));
      // ... and both halves together are exactly what a client that never left received.
      expect([...seen.slice(1), ...resumed.events].map(key)).toEqual(reference.events.slice(1).map(key));
      // Ids only grow, among the events the server published (the snapshot and the made-up final
      // progress repeat the id before them).
      const published = reference.events.slice(1, -2).map((e) => e.id as string);
      for (let i = 1; i < published.length; i++)
        expect(compareEventIds(published[i], published[i - 1])).toBeGreaterThan(0);

      // An id the server does not know (another experiment's, garbage) starts over with the snapshot.
      const unknown = await openStream(baseUrl, path, { ...bearer(viewer.token), 'Last-Event-ID': '1-999999' });
      await unknown.ended;
      expect(unknown.events.map((e) => e.event)).toEqual(['experiment.progress', 'experiment.status']);
      expect(unknown.events[0].data.progress).toMatchObject({ total: 12, completed: 12 });
      const garbage = await openStream(baseUrl, `${path}?last_event_id=not-an-id`, bearer(viewer.token));
      await garbage.ended;
      expect(garbage.events[0].event).toBe('experiment.progress');
      // Resuming from the last id of an ended experiment: only what was published after it (a late
      // throttled progress, perhaps), then the end.
      const last = reference.events.at(-1)?.id as string;
      const after = await openStream(baseUrl, path, { ...bearer(viewer.token), 'Last-Event-ID': last });
      await after.ended;
      expect(after.events.at(-1)?.data).toMatchObject({ type: 'experiment.status', status: 'completed' });
      expect(after.events.filter((e) => e.event === 'run.status')).toEqual([]);
      for (const e of after.events) expect(compareEventIds(e.id as string, last)).toBeGreaterThanOrEqual(0);
    });

    it('opens the stream with a ticket of the same experiment, and refuses expired, foreign and misused tickets', async () => {
      const id = await createExperiment();
      const other = await createExperiment();
      const issued = await request(t.http).post(`/api/experiments/${id}/events/ticket`).set(bearer(viewer.token));
      expect(issued.status).toBe(201);
      expect(issued.body).toEqual({ ticket: expect.stringMatching(/^sset_/), expires_in: 60 });
      const { ticket } = issued.body as { ticket: string };

      const ok = await openStream(baseUrl, `/api/experiments/${id}/events?ticket=${encodeURIComponent(ticket)}`);
      expect(ok.status).toBe(200);
      await waitFor(() => ok.events.length > 0, { what: 'the snapshot' });
      expect(ok.events[0].event).toBe('experiment.progress');
      ok.close();
      // Valid until it expires: EventSource reconnects with the same URL.
      const again = await openStream(baseUrl, `/api/experiments/${id}/events?ticket=${encodeURIComponent(ticket)}`);
      expect(again.status).toBe(200);
      again.close();

      const foreign = await openStream(
        baseUrl,
        `/api/experiments/${other}/events?ticket=${encodeURIComponent(ticket)}`,
      );
      expect(foreign.status).toBe(401);
      await foreign.ended;
      expect(JSON.parse(foreign.body)).toMatchObject({ statusCode: 401, error: 'Unauthorized' });

      const tickets = t.app.get(SseTicketService);
      const expired = tickets.issue(
        { kind: 'user', userId: viewer.id, email: viewer.email },
        id,
        Date.now() - 61_000,
      ).ticket;
      const late = await openStream(baseUrl, `/api/experiments/${id}/events?ticket=${encodeURIComponent(expired)}`);
      expect(late.status).toBe(401);
      late.close();
      const forged = `${ticket.slice(0, -2)}xx`;
      const bad = await openStream(baseUrl, `/api/experiments/${id}/events?ticket=${encodeURIComponent(forged)}`);
      expect(bad.status).toBe(401);
      bad.close();

      // A ticket is not a bearer token, and opens no other route.
      expect((await request(t.http).get(`/api/experiments/${id}`).set(bearer(ticket))).status).toBe(401);
      expect((await request(t.http).get(`/api/experiments/${id}?ticket=${encodeURIComponent(ticket)}`)).status).toBe(
        401,
      );
      // Only a viewer of the experiment gets one.
      const refused = await request(t.http).post(`/api/experiments/${id}/events/ticket`).set(bearer(stranger.token));
      expect(refused.status).toBe(404);
      expect((await request(t.http).post(`/api/experiments/${id}/events/ticket`)).status).toBe(401);
    });
  });
}

sseSuite('embedded');
sseSuite('redis');

describe('JSON logs and the OpenAPI document (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('writes JSON lines with request_id (and run_id, experiment_id where known), never a token or ticket', async () => {
    const user = await registerUser(t.http);
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    t.app.useLogger(new AppLogger({ format: 'json', levels: ['error', 'warn', 'log', 'debug'], colors: false }));
    let experimentId: string;
    try {
      await request(t.http).get('/api/health').set('X-Request-Id', 'log-probe-1').expect(200);
      const created = await request(t.http)
        .post('/api/experiments')
        .set(bearer(user.token))
        .send({ name: 'logs', config: { prompts: ['Echo {{n}}'], models: ['mock:echo'], inputs: [{ n: '1' }] } });
      expect(created.status).toBe(201);
      experimentId = (created.body as { id: string }).id;
      await request(t.http)
        .post(`/api/experiments/${experimentId}/launch`)
        .set(bearer(user.token))
        .set('X-Request-Id', 'log-probe-2')
        .send({})
        .expect(202);
      await waitFor(
        async () =>
          (
            (await request(t.http).get(`/api/experiments/${experimentId}`).set(bearer(user.token))).body as {
              status: string;
            }
          ).status === 'completed',
        { what: 'the experiment to complete' },
      );
      await request(t.http).get(`/api/experiments/${experimentId}/events?ticket=sset_not-a-real-ticket-42`).expect(401);
    } finally {
      write.mockRestore();
      t.app.useLogger(['error', 'warn']);
    }
    const text = out.join('');
    const lines = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(3);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'log',
        context: 'HTTP',
        request_id: 'log-probe-1',
        route: '/api/health',
        status: 200,
        message: expect.stringMatching(/^GET \/api\/health 200 /),
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ request_id: 'log-probe-2', experiment_id: experimentId!, status: 202 }),
    );
    const runLines = lines.filter((line) => line.context === 'RunExecutor');
    expect(runLines).toContainEqual(
      expect.objectContaining({ run_id: expect.any(String), experiment_id: experimentId! }),
    );
    for (const line of runLines) expect(line.request_id).toBeUndefined();
    expect(lines).toContainEqual(expect.objectContaining({ route: '/api/experiments/:id/events', status: 401 }));
    expect(text).not.toContain(user.token);
    expect(text).not.toContain('not-a-real-ticket-42');
  });

  it('documents whole-body request examples that succeed as sent (ids of earlier answers filled in), and free-form objects', async () => {
    const user = await registerUser(t.http);
    const doc = (await request(t.http).get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { examples?: unknown }> } }>>;
      components: { schemas: Record<string, { properties?: Record<string, Record<string, unknown>> }> };
    };
    const examplesOf = (path: string, method: string): Array<[string, Record<string, unknown>]> => {
      const examples = doc.paths[path][method].requestBody?.content?.['application/json']?.examples as
        Record<string, { value: Record<string, unknown> }> | undefined;
      return Object.entries(examples ?? {}).map(([name, example]) => [name, example.value]);
    };
    const experiments = examplesOf('/api/experiments', 'post');
    expect(experiments.map(([name]) => name)).toEqual(['grid', 'pipeline', 'budget']);
    let experimentId = '';
    for (const [name, body] of experiments) {
      const res = await request(t.http).post('/api/experiments').set(bearer(user.token)).send(body);
      expect([name, res.status, res.body]).toEqual([
        name,
        201,
        expect.objectContaining({ project_id: user.projectId }),
      ]);
      const id = (res.body as { id: string }).id;
      experimentId ||= id;
      await request(t.http).post(`/api/experiments/${id}/launch`).set(bearer(user.token)).send({}).expect(202);
      await waitFor(
        async () =>
          ((await request(t.http).get(`/api/experiments/${id}`).set(bearer(user.token))).body as { status: string })
            .status === 'completed',
        { what: `the ${name} example to complete` },
      );
    }
    const runs = examplesOf('/api/runs', 'post');
    expect(runs).toHaveLength(1);
    for (const [, body] of runs) {
      const res = await request(t.http)
        .post('/api/runs')
        .set(bearer(user.token))
        .send({ ...body, experiment_id: experimentId });
      expect([res.status, res.body]).toEqual([201, expect.objectContaining({ status: 'pending' })]);
    }
    // Connections: each create example succeeds in the caller's project (owner) and returns no key;
    // each PATCH example succeeds on the first one.
    const connections = examplesOf('/api/projects/{project_id}/connections', 'post');
    expect(connections.map(([name]) => name)).toEqual(['openai-compatible', 'anthropic']);
    const connectionIds: string[] = [];
    for (const [name, body] of connections) {
      const res = await request(t.http)
        .post(`/api/projects/${user.projectId}/connections`)
        .set(bearer(user.token))
        .send(body);
      expect([name, res.status, res.body]).toEqual([
        name,
        201,
        expect.objectContaining({ name: body.name, kind: body.kind, api_key_set: true }),
      ]);
      expect(res.text).not.toContain(body.api_key as string);
      connectionIds.push((res.body as { id: string }).id);
    }
    const patches = examplesOf('/api/connections/{id}', 'patch');
    expect(patches.map(([name]) => name)).toEqual(['rotate-key', 'limits']);
    for (const [name, body] of patches) {
      const res = await request(t.http)
        .patch(`/api/connections/${connectionIds[0]}`)
        .set(bearer(user.token))
        .send(body);
      expect([name, res.status]).toEqual([name, 200]);
      expect(res.text).not.toContain('not-a-real-key');
    }
    // The connection's model is then valid in the project (at creation; calling it needs the real key).
    const withConnection = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({
        name: 'connection-model',
        config: { prompts: ['Hi {{x}}'], models: ['mock:echo', 'work-openai:gpt-4o-mini'], inputs: [{ x: 1 }] },
      });
    expect(withConnection.status).toBe(201);
    // Free-form objects take any key (generated clients would otherwise type them Record<string, never>).
    const config = doc.components.schemas.ExperimentConfigDto.properties ?? {};
    expect(config.params).toMatchObject({ type: 'object', additionalProperties: true });
    expect(config.inputs).toMatchObject({ items: { type: 'object', additionalProperties: true } });
    expect(JSON.stringify(doc.components.schemas.ExperimentConfigDto)).not.toMatch(/openai:/);
    expect(doc.components.schemas.GateResultDto.properties?.comparison.additionalProperties).toBeUndefined();
  });

  it('marks exactly the public operations with security: [] and declares every tag', async () => {
    const doc = (await request(t.http).get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { security?: unknown[]; tags?: string[] }>>;
      tags: Array<{ name: string }>;
    };
    const declared = doc.tags.map((tag) => tag.name);
    const publicOps: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation.security).toBeDefined();
        for (const tag of operation.tags ?? []) expect(declared).toContain(tag);
        const url = path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
        const res = await (request(t.http) as unknown as Record<string, (u: string) => request.Test>)
          [method](url)
          .set('Content-Type', 'application/json')
          .send('{}');
        const isPublic = operation.security?.length === 0;
        if (isPublic) publicOps.push(`${method} ${path}`);
        // The guard answers 401 before anything else for a guarded route.
        expect([`${method} ${path}`, res.status === 401]).toEqual([`${method} ${path}`, !isPublic]);
      }
    }
    expect(publicOps.sort()).toEqual(['get /api/health', 'post /api/auth/login', 'post /api/auth/register']);
    // Every error answer documents the error body.
    const responses = Object.values(doc.paths).flatMap((operations) =>
      Object.values(operations).flatMap((operation) =>
        Object.entries((operation as { responses: Record<string, { content?: unknown }> }).responses),
      ),
    );
    const errors = responses.filter(([code]) => Number(code) >= 400);
    expect(errors.length).toBeGreaterThan(50);
    for (const [, response] of errors) {
      expect(response.content).toEqual({
        'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } },
      });
    }
  });
});
