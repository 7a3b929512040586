import request from 'supertest';
import { windowPlan } from '../src/providers/shared-rate-limits';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from './support/app';
import { bearer, registerUser } from './support/factories';
import { type FakeLlmServer, startFakeLlmServer } from './support/fake-llm-server';
import { startRedis, type TestRedis } from './support/redis';
import { waitFor } from './support/wait';
import { spawnWorker, type WorkerProcess } from './support/worker-process';
import { startAll } from './support/start-all';

// Three workers start through ts-node.
jest.setTimeout(120_000);

/**
 * rpm_limit holds across processes: three workers on one Redis share one connection's limit.
 * A limit of 26 runs as 5-second windows of 2 calls (see windowPlan), so within seconds the fake
 * server must see at most 2 calls per window in total — three per-process limiters would let 6
 * through — and no 60-second interval can ever see more than 26.
 */
describe('shared rpm limit across worker processes', () => {
  const RPM = 26;
  let fake: FakeLlmServer;
  let redis: TestRedis;
  let api: TestApp;
  const workers: WorkerProcess[] = [];
  const calls: number[] = [];

  beforeAll(async () => {
    await startAll([startFakeLlmServer().then((f) => (fake = f)), startRedis().then((r) => (redis = r))]);
    fake.setResponder(() => {
      calls.push(Date.now());
      return undefined;
    });
    api = await createTestApp({ env: { REDIS_URL: redis.url, ALLOW_PRIVATE_URLS: 'true' } });
    const env = {
      REDIS_URL: redis.url,
      DATABASE_URL: api.database.url,
      JWT_SECRET: TEST_JWT_SECRET,
      ALLOW_PRIVATE_URLS: 'true',
      WORKER_CONCURRENCY: '8',
    };
    workers.push(...(await Promise.all([spawnWorker(env), spawnWorker(env), spawnWorker(env)])));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await api?.close();
    await Promise.all([fake?.close(), redis?.stop()]);
  });

  it('no window sees more calls than the limit allows, whichever worker makes them', async () => {
    const plan = windowPlan(RPM);
    expect(plan).toEqual({ windowSeconds: 5, points: 2 });
    const user = await registerUser(api.http);
    const conn = await request(api.http)
      .post(`/api/projects/${user.projectId}/connections`)
      .set(bearer(user.token))
      .send({ name: 'limited', kind: 'openai', base_url: fake.url, rpm_limit: RPM });
    expect(conn.status).toBe(201);
    const created = await request(api.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({
        name: 'rpm',
        project_id: user.projectId,
        config: {
          prompts: ['{{x}}'],
          models: ['limited:m'],
          inputs: Array.from({ length: 40 }, (_, i) => ({ x: `n${i}` })),
        },
      });
    expect(created.status).toBe(201);
    await request(api.http).post(`/api/experiments/${created.body.id}/launch`).set(bearer(user.token)).send({});

    // Three windows' worth of calls: about 10 s of wall time, not 60.
    await waitFor(() => calls.length >= 3 * plan.points, { timeoutMs: 40_000, what: 'three windows of calls' });
    const first = calls[0];
    const within = (ms: number) => calls.filter((c) => c - first < ms).length;
    // The first window: shared, so 2 calls in total (not 2 per worker).
    expect(within(plan.windowSeconds * 1000 - 500)).toBeLessThanOrEqual(plan.points);
    // Any 60-second interval so far (they all start at a call) stays within the limit.
    for (const start of calls) {
      expect(calls.filter((c) => c >= start && c - start < 60_000).length).toBeLessThanOrEqual(RPM);
    }
    // Calls still wait rather than fail: nothing has failed.
    const runs = await request(api.http)
      .get(`/api/runs?experiment_id=${created.body.id}&status=failed`)
      .set(bearer(user.token));
    expect(runs.body.total).toBe(0);
    await request(api.http).post(`/api/experiments/${created.body.id}/cancel`).set(bearer(user.token)).send({});
  });
});
