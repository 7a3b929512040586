import request from 'supertest';
import { loadConfig } from '../src/config/configuration';
import { createTestApp, type TestApp } from './support/app';
import { bearer, registerUser } from './support/factories';
import { waitFor } from './support/wait';

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

describe('GET /metrics (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is public only in embedded mode without METRICS_TOKEN', () => {
    expect(loadConfig({}).metrics).toEqual({ token: null, open: true });
    expect(loadConfig({ METRICS_TOKEN: TOKEN }).metrics).toEqual({ token: TOKEN, open: false });
    expect(
      loadConfig({
        DATABASE_URL: 'postgres://x@h/db',
        JWT_SECRET: 'j'.repeat(32),
        SECRETS_KEY: Buffer.alloc(32).toString('base64'),
      }).metrics,
    ).toEqual({ token: null, open: false });
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
    const created = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({
        name: 'metrics',
        config: { prompts: ['Echo {{x}}'], models: ['mock:echo'], inputs: [{ x: 'a' }, { x: 'b' }, { x: 'c' }] },
      })
      .expect(201);
    await request(t.http)
      .post(`/api/experiments/${created.body.id}/launch`)
      .set(bearer(user.token))
      .send({})
      .expect(202);
    await waitFor(
      async () =>
        (await request(t.http).get(`/api/experiments/${created.body.id}`).set(bearer(user.token))).body.status ===
        'completed',
      { what: 'experiment completed', timeoutMs: 30_000 },
    );
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
    expect(text).not.toContain(created.body.id);
    expect(text).not.toContain(TOKEN);
    expect(sample(text, 'promptlooper_process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
