import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { waitFor } from './support/wait';

describe('health (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers ok while PostgreSQL is up and 503 naming the database once it is gone', async () => {
    const up = await request(t.http).get('/api/health');
    expect(up.status).toBe(200);
    expect(up.body).toEqual({ status: 'ok', db: 'up', queue: 'inline' });

    // The app's database disappears under it (its connections are terminated).
    await t.database.drop();
    const down = await waitFor(
      async () => {
        const res = await request(t.http).get('/api/health');
        return res.status === 503 ? res : null;
      },
      { timeoutMs: 15_000, what: 'health to report the database down' },
    );
    expect(down.body).toMatchObject({ statusCode: 503, status: 'error', db: 'down', queue: 'inline' });
  });
});
