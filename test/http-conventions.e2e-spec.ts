import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { bearer, registerUser, uniqueEmail } from './support/factories';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('HTTP conventions: request ids, media types, error bodies, CORS, registration (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example.com,http://localhost:5173' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('keeps a safe incoming X-Request-Id and replaces an unsafe one, on success and error answers', async () => {
    const kept = await request(t.http).get('/api/health').set('X-Request-Id', 'abc.DEF_123-x');
    expect(kept.headers['x-request-id']).toBe('abc.DEF_123-x');
    const generated = await request(t.http).get('/api/health');
    expect(generated.headers['x-request-id']).toMatch(UUID);
    for (const unsafe of ['has space', 'a'.repeat(129), 'quote"x', 'new\\nline', '']) {
      const res = await request(t.http).get('/api/nope').set('X-Request-Id', unsafe);
      expect(res.status).toBe(404);
      expect(res.headers['x-request-id']).toMatch(UUID);
    }
    const unauthorized = await request(t.http).get('/api/projects').set('X-Request-Id', 'trace-1');
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers['x-request-id']).toBe('trace-1');
  });

  it('answers 415 for a body that is not JSON, without touching anything', async () => {
    const email = uniqueEmail('form');
    const form = await request(t.http)
      .post('/api/auth/register')
      .type('form')
      .send({ email, password: 'long-enough-1' });
    expect(form.status).toBe(415);
    expect(form.body).toEqual({
      statusCode: 415,
      message: expect.stringMatching(/application\/json/),
      error: 'Unsupported Media Type',
    });
    const text = await request(t.http).post('/api/auth/register').set('Content-Type', 'text/plain').send('{"a":1}');
    expect(text.status).toBe(415);
    const login = await request(t.http).post('/api/auth/login').send({ email, password: 'long-enough-1' });
    expect(login.status).toBe(401);
    // JSON with a charset is JSON; a POST without a body needs no Content-Type.
    const json = await request(t.http)
      .post('/api/auth/register')
      .set('Content-Type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ email, password: 'long-enough-1' }));
    expect(json.status).toBe(201);
    const user = await registerUser(t.http);
    const noBody = await request(t.http).post('/api/projects').set(bearer(user.token));
    expect(noBody.status).toBe(400);
  });

  it('answers CORS preflights for configured origins only and exposes X-Request-Id', async () => {
    const ok = await request(t.http)
      .options('/api/experiments')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const get = await request(t.http).get('/api/health').set('Origin', 'http://localhost:5173');
    expect(get.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(get.headers['access-control-expose-headers']).toMatch(/X-Request-Id/i);
    const other = await request(t.http).get('/api/health').set('Origin', 'https://evil.example.com');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('error bodies of the throttler and closed registration (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { AUTH_THROTTLE_LIMIT: '3', ALLOW_REGISTRATION: 'false' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('lets only the first user register when registration is closed, and 429 has statusCode/message/error', async () => {
    const first = await request(t.http)
      .post('/api/auth/register')
      .send({ email: uniqueEmail('first'), password: 'long-enough-1' });
    expect(first.status).toBe(201);
    const second = await request(t.http)
      .post('/api/auth/register')
      .send({ email: uniqueEmail('second'), password: 'long-enough-1' });
    expect(second.status).toBe(403);
    expect(second.body).toEqual({
      statusCode: 403,
      message: expect.stringMatching(/ALLOW_REGISTRATION/),
      error: 'Forbidden',
    });
    // The limit is 3 per route and window: the fourth login attempt is throttled.
    const statuses: number[] = [];
    let limited: request.Response | undefined;
    for (let i = 0; i < 4; i++) {
      limited = await request(t.http).post('/api/auth/login').send({ email: 'x@example.com', password: 'whatever1' });
      statuses.push(limited.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    if (!limited) throw new Error('unreachable');
    expect(limited.body).toEqual({ statusCode: 429, message: expect.any(String), error: 'Too Many Requests' });
    expect(limited.body.message).not.toMatch(/Exception/);
    expect(limited.headers['x-request-id']).toMatch(UUID);
  });
});
