import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import request from 'supertest';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { migrateDatabase } from '../src/database/runtime';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from './support/app';
import { bearer, createApiKey, registerUser, type TestUser } from './support/factories';
import { startRedis, type TestRedis } from './support/redis';
import { waitFor } from './support/wait';
import { spawnWorker, type WorkerProcess } from './support/worker-process';
import { startAll } from './support/start-all';

/**
 * Issue 19, infrastructure faults: a PostgreSQL of its own (the suites' shared one must not stop),
 * really stopped and started again on the same port and data.
 */
describe('hardening: a PostgreSQL outage is a 503 to retry, never a 401 or a crash (e2e)', () => {
  let dir: string;
  let pg: EmbeddedPostgresHandle | null = null;
  let port: number;
  let url: string;
  let t: TestApp;
  let redis: TestRedis;
  let user: TestUser;
  let apiKey: string;
  const workers: WorkerProcess[] = [];

  const startPg = async () => {
    pg = await startEmbeddedPostgres({ dataDir: dir, port, persistent: true, database: 'pl_outage' });
    port = pg.port;
    url = pg.url;
  };
  const stopPg = async () => {
    await pg?.stop();
    pg = null;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pl-outage-'));
    port = 0;
    await startAll([startPg(), startRedis().then((r) => (redis = r))]);
    await migrateDatabase(url);
    t = await createTestApp({ database: { url, name: 'pl_outage', drop: () => Promise.resolve() } });
    user = await registerUser(t.http);
    apiKey = (await createApiKey(t.http, user, user.projectId)).key;
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop(5000)));
    await t?.close();
    await stopPg();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a valid token 503 with Retry-After while PostgreSQL is down, and 200 once it is back', async () => {
    await request(t.http).get('/api/auth/me').set(bearer(user.token)).expect(200);
    await stopPg();

    for (const [what, token, path] of [
      ['a JWT', user.token, '/api/auth/me'],
      ['a JWT', user.token, '/api/experiments'],
      ['an API key', apiKey, '/api/experiments'],
    ] as const) {
      const res = await request(t.http).get(path).set(bearer(token));
      expect({ what, path, status: res.status, body: res.body as unknown }).toMatchObject({
        status: 503,
        body: { statusCode: 503, error: 'Service Unavailable' },
      });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    const login = await request(t.http).post('/api/auth/login').send({ email: user.email, password: user.password });
    expect(login.status).toBe(503);
    // A forged token is still a 401: only the lookup, not the signature check, needs the database.
    await request(t.http)
      .get('/api/auth/me')
      .set(bearer(`${user.token}x`))
      .expect(401);

    await startPg();
    await waitFor(async () => (await request(t.http).get('/api/auth/me').set(bearer(user.token))).status === 200, {
      timeoutMs: 30_000,
      what: 'the token to be accepted again',
    });
  });

  it('keeps a worker that starts during an outage waiting and retrying, then ready once PostgreSQL is back', async () => {
    await stopPg();
    const worker = spawnWorker(
      { DATABASE_URL: url, JWT_SECRET: TEST_JWT_SECRET, REDIS_URL: redis.url },
      { waitForReady: false },
    );
    const child = await worker;
    workers.push(child);
    let exited = false;
    void child.exited.then(() => (exited = true));
    await waitFor(() => exited || (child.output().match(/PostgreSQL is unavailable/g) ?? []).length >= 2, {
      timeoutMs: 90_000,
      what: `the worker to log two retries\n${child.output()}`,
    });
    expect(exited).toBe(false);
    expect(child.output()).toMatch(/attempt 2 failed, retrying in \d+ ms/);

    await startPg();
    await waitFor(() => exited || /worker \S+ ready in/.test(child.output()), {
      timeoutMs: 90_000,
      what: 'the worker to become ready',
    });
    expect(exited).toBe(false);
    expect(child.output()).toMatch(/PostgreSQL is reachable again/);
  });
});
