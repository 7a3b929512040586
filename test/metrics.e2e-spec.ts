import request from 'supertest';
import { loadConfig } from '../src/config/configuration';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from './support/app';
import { bearer, registerUser } from './support/factories';
import { freePort } from './support/free-port';
import { startRedis, type TestRedis } from './support/redis';
import { waitFor } from './support/wait';
import { spawnWorker, type WorkerProcess } from './support/worker-process';

const TOKEN = 'metrics-token-0123456789';

/** The value of one sample line (`name{labels} value`), or null when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter(Boolean);
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return null;
}

/** Creates a `mock:echo` experiment with one run per input, launches it and waits until it completed; its id. */
async function runEchoExperiment(
  http: TestApp['http'],
  token: string,
  inputs: string[],
  timeoutMs: number,
): Promise<string> {
  const created = await request(http)
    .post('/api/experiments')
    .set(bearer(token))
    .send({
      name: 'metrics',
      config: { prompts: ['Echo {{x}}'], models: ['mock:echo'], inputs: inputs.map((x) => ({ x })) },
    })
    .expect(201);
  const id = created.body.id as string;
  await request(http).post(`/api/experiments/${id}/launch`).set(bearer(token)).send({}).expect(202);
  await waitFor(
    async () => (await request(http).get(`/api/experiments/${id}`).set(bearer(token))).body.status === 'completed',
    { what: `experiment ${id} completed`, timeoutMs },
  );
  return id;
}

describe('GET /metrics (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is public only in embedded mode without METRICS_TOKEN', () => {
    expect(loadConfig({}).metrics).toEqual({ token: null, open: true, workerPort: null });
    expect(loadConfig({ METRICS_TOKEN: TOKEN }).metrics).toEqual({ token: TOKEN, open: false, workerPort: null });
    expect(loadConfig({ METRICS_TOKEN: TOKEN, WORKER_METRICS_PORT: '9464' }).metrics.workerPort).toBe(9464);
    // A worker's metrics are never public: its port needs the token.
    expect(() => loadConfig({ WORKER_METRICS_PORT: '9464' })).toThrow(/"WORKER_METRICS_PORT" needs "METRICS_TOKEN"/);
    expect(() => loadConfig({ METRICS_TOKEN: TOKEN, WORKER_METRICS_PORT: 'x' })).toThrow(/WORKER_METRICS_PORT/);
    expect(
      loadConfig({
        DATABASE_URL: 'postgres://x@h/db',
        JWT_SECRET: 'j'.repeat(32),
        SECRETS_KEY: Buffer.alloc(32).toString('base64'),
      }).metrics,
    ).toEqual({ token: null, open: false, workerPort: null });
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });

  it('needs the bearer token here, and never answers under /api', async () => {
    expect((await request(t.http).get('/metrics')).status).toBe(401);
    expect((await request(t.http).get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789')).status).toBe(
      401,
    );
    const user = await registerUser(t.http);
    // A user's token is not the metrics token.
    expect((await request(t.http).get('/metrics').set(bearer(user.token))).status).toBe(401);
    expect((await request(t.http).get('/api/metrics').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(404);
  });

  it('counts runs by status, provider calls by provider and outcome, HTTP requests by route template', async () => {
    const user = await registerUser(t.http);
    const experimentId = await runEchoExperiment(t.http, user.token, ['a', 'b', 'c'], 30_000);
    const res = await request(t.http).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.text;
    expect(sample(text, 'promptlooper_runs', { status: 'completed' })).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'promptlooper_queue_depth')).toBe(0);
    expect(
      sample(text, 'promptlooper_provider_call_duration_seconds_count', { provider: 'mock', outcome: 'success' }),
    ).toBeGreaterThanOrEqual(3);
    // Route templates, never raw ids.
    expect(
      sample(text, 'promptlooper_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/api/experiments/:id',
        status: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(experimentId);
    expect(text).not.toContain(TOKEN);
    expect(sample(text, 'promptlooper_process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});

/** Distributed mode: a queue worker's provider calls are visible on that worker's own /metrics. */
describe("a worker process's /metrics (WORKER_METRICS_PORT, e2e)", () => {
  let redis: TestRedis;
  let api: TestApp;
  let worker: WorkerProcess;
  let port: number;

  beforeAll(async () => {
    redis = await startRedis();
    api = await createTestApp({ env: { REDIS_URL: redis.url, METRICS_TOKEN: TOKEN } });
    port = await freePort();
    worker = await spawnWorker({
      REDIS_URL: redis.url,
      DATABASE_URL: api.database.url,
      JWT_SECRET: TEST_JWT_SECRET,
      METRICS_TOKEN: TOKEN,
      WORKER_METRICS_PORT: String(port),
      HOST: '127.0.0.1',
    });
  }, 120_000);
  afterAll(async () => {
    await worker?.stop();
    await api?.close();
    await redis?.stop();
  });

  const scrape = (authorization?: string, path = '/metrics') =>
    fetch(`http://127.0.0.1:${port}${path}`, { headers: authorization ? { authorization } : {} });

  it('needs the bearer token, answers only /metrics, and counts the provider calls the worker made', async () => {
    const denied = await scrape();
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({
      statusCode: 401,
      message: 'A valid METRICS_TOKEN bearer token is required',
      error: 'Unauthorized',
    });
    expect((await scrape('Bearer wrong-token-0123456789')).status).toBe(401);
    expect((await scrape(`Bearer ${TOKEN}`, '/api/health')).status).toBe(404);

    const user = await registerUser(api.http);
    await runEchoExperiment(api.http, user.token, ['a', 'b'], 60_000);

    const res = await scrape(`Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(
      sample(text, 'promptlooper_provider_call_duration_seconds_count', { provider: 'mock', outcome: 'success' }),
    ).toBe(2);
    expect(sample(text, 'promptlooper_process_resident_memory_bytes')).toBeGreaterThan(0);
    // Runs by status stay the API's (from the shared database), so summing over processes never doubles them.
    expect(sample(text, 'promptlooper_runs', { status: 'completed' })).toBeNull();
    expect(text).not.toContain(TOKEN);

    // The API process made no provider call in distributed mode.
    const fromApi = await request(api.http).get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    expect(
      sample(fromApi.text, 'promptlooper_provider_call_duration_seconds_count', {
        provider: 'mock',
        outcome: 'success',
      }),
    ).toBeNull();
    expect(sample(fromApi.text, 'promptlooper_runs', { status: 'completed' })).toBe(2);
  }, 120_000);
});
