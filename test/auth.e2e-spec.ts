import { createHmac } from 'crypto';
import request from 'supertest';
import { createTestApp, TEST_JWT_SECRET, type TestApp } from './support/app';
import { addMember, bearer, createApiKey, registerUser, type TestUser, uniqueEmail } from './support/factories';

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
function signJwt(
  payload: Record<string, unknown>,
  secret = TEST_JWT_SECRET,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const body = `${b64url(header)}.${b64url(payload)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

describe('auth, projects, API keys and tenancy (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await registerUser(t.http, { name: 'Alice' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('registers, logs in and answers /auth/me with the personal project', async () => {
    const email = uniqueEmail('Bob').toUpperCase();
    const reg = await request(t.http).post('/api/auth/register').send({ email, password: 'longenough', name: 'Bob' });
    expect(reg.status).toBe(201);
    expect(reg.body).toEqual({
      id: expect.any(String),
      email: email.toLowerCase(),
      name: 'Bob',
      created_at: expect.any(String),
      default_project_id: expect.any(String),
    });
    expect(reg.body).not.toHaveProperty('password_hash');
    const login = await request(t.http).post('/api/auth/login').send({ email, password: 'longenough' });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 3600 });
    const me = await request(t.http).get('/api/auth/me').set(bearer(login.body.access_token));
    expect(me.status).toBe(200);
    expect(me.body.projects).toEqual([{ id: reg.body.default_project_id, name: expect.any(String), role: 'owner' }]);
  });

  it('rejects a duplicate email with 409 and bad bodies with 400 naming every field', async () => {
    const dup = await request(t.http).post('/api/auth/register').send({ email: alice.email, password: 'whatever123' });
    expect(dup.status).toBe(409);
    const bad = await request(t.http)
      .post('/api/auth/register')
      .send({ email: 'not-an-email', password: 'short', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('Bad Request');
    const text = (bad.body.message as string[]).join('\n');
    expect(text).toMatch(/email/);
    expect(text).toMatch(/password/);
    expect(text).toMatch(/extra should not exist/);
  });

  it('answers 401 to wrong credentials without saying which part was wrong', async () => {
    const wrong = await request(t.http).post('/api/auth/login').send({ email: alice.email, password: 'nope-nope' });
    const unknown = await request(t.http).post('/api/auth/login').send({ email: uniqueEmail(), password: 'nope-nope' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.message).toBe(unknown.body.message);
  });

  it('refuses missing, garbage, alg:none, tampered, wrongly signed and expired tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    const valid = signJwt({ sub: alice.id, email: alice.email, iat: now, exp: now + 600 });
    expect((await request(t.http).get('/api/auth/me').set(bearer(valid))).status).toBe(200);
    const [h, p] = valid.split('.');
    const cases: Record<string, string | null> = {
      missing: null,
      garbage: 'garbage',
      algNone: `${b64url({ alg: 'none', typ: 'JWT' })}.${p}.`,
      tampered: `${h}.${b64url({ sub: alice.id, email: 'x@example.com', iat: now, exp: now + 999999 })}.${valid.split('.')[2]}`,
      wrongSecret: signJwt(
        { sub: alice.id, email: alice.email, iat: now, exp: now + 600 },
        'another-secret-0123456789',
      ),
      expired: signJwt({ sub: alice.id, email: alice.email, iat: now - 7200, exp: now - 3600 }),
      unknownUser: signJwt({
        sub: '00000000-0000-4000-8000-000000000000',
        email: 'ghost@example.com',
        iat: now,
        exp: now + 600,
      }),
      badKey: 'pl_0000_notakey',
    };
    for (const [name, token] of Object.entries(cases)) {
      const req = request(t.http).get('/api/auth/me');
      const res = token === null ? await req : await req.set(bearer(token));
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
      expect(res.body.statusCode).toBe(401);
    }
  });

  it('API keys: shown once, listed without secrets, act as editor of their project only, revoked → 401 at once', async () => {
    const { id, key } = await createApiKey(t.http, alice, alice.projectId);
    expect(key).toMatch(/^pl_[0-9a-f]{12}_/);
    const list = await request(t.http).get(`/api/projects/${alice.projectId}/api-keys`).set(bearer(alice.token));
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(key);
    expect(list.body.items[0]).toMatchObject({ id, prefix: key.slice(0, 15), revoked_at: null });

    const projects = await request(t.http).get('/api/projects').set(bearer(key));
    expect(projects.status).toBe(200);
    expect(projects.body.items).toEqual([expect.objectContaining({ id: alice.projectId, role: 'editor' })]);
    // editor, not owner: cannot mint keys
    expect(
      (await request(t.http).post(`/api/projects/${alice.projectId}/api-keys`).set(bearer(key)).send({ name: 'x' }))
        .status,
    ).toBe(403);
    // another project: not found
    const other = await registerUser(t.http);
    expect((await request(t.http).get(`/api/projects/${other.projectId}/api-keys`).set(bearer(key))).status).toBe(404);

    const revoke = await request(t.http)
      .delete(`/api/projects/${alice.projectId}/api-keys/${id}`)
      .set(bearer(alice.token));
    expect(revoke.status).toBe(204);
    expect((await request(t.http).get('/api/projects').set(bearer(key))).status).toBe(401);
  });

  it('roles: viewers and editors get 403 on owner actions, strangers get 404, bad ids 400', async () => {
    const viewer = await registerUser(t.http);
    const editor = await registerUser(t.http);
    const stranger = await registerUser(t.http);
    await addMember(t.http, alice, alice.projectId, viewer, 'viewer');
    await addMember(t.http, alice, alice.projectId, editor, 'editor');
    const dupMember = await request(t.http)
      .post(`/api/projects/${alice.projectId}/members`)
      .set(bearer(alice.token))
      .send({ email: viewer.email, role: 'editor' });
    expect(dupMember.status).toBe(409);
    const badRole = await request(t.http)
      .post(`/api/projects/${alice.projectId}/members`)
      .set(bearer(alice.token))
      .send({ email: viewer.email, role: 'admin' });
    expect(badRole.status).toBe(400);

    for (const who of [viewer, editor]) {
      const res = await request(t.http)
        .post(`/api/projects/${alice.projectId}/members`)
        .set(bearer(who.token))
        .send({ email: stranger.email, role: 'viewer' });
      expect(res.status).toBe(403);
    }
    const res = await request(t.http)
      .post(`/api/projects/${alice.projectId}/api-keys`)
      .set(bearer(stranger.token))
      .send({ name: 'x' });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, message: 'Project not found', error: 'Not Found' });
    expect((await request(t.http).get('/api/projects/not-a-uuid/api-keys').set(bearer(alice.token))).status).toBe(400);

    const me = await request(t.http).get('/api/auth/me').set(bearer(viewer.token));
    expect(me.body.projects).toEqual(
      expect.arrayContaining([{ id: alice.projectId, name: expect.any(String), role: 'viewer' }]),
    );
  });

  it('creates projects whose creator is owner', async () => {
    const res = await request(t.http).post('/api/projects').set(bearer(alice.token)).send({ name: 'second' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'second', role: 'owner' });
    const list = await request(t.http).get('/api/projects').set(bearer(alice.token));
    expect(list.body.items.map((p: { id: string }) => p.id)).toEqual(
      expect.arrayContaining([alice.projectId, res.body.id]),
    );
  });

  it('serves health, the Swagger UI and a spec with bearer auth; limits bodies to 1 MiB', async () => {
    const health = await request(t.http).get('/api/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', db: 'up', queue: 'inline' });
    const docs = await request(t.http).get('/docs/');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('swagger');
    const spec = await request(t.http).get('/docs-json');
    expect(spec.status).toBe(200);
    expect(spec.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining(['/api/auth/register', '/api/auth/login', '/api/auth/me']),
    );

    const big = { email: uniqueEmail(), password: 'x'.repeat(1024 * 1024 + 10) };
    const tooBig = await request(t.http).post('/api/auth/register').send(big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.statusCode).toBe(413);
    const malformed = await request(t.http)
      .post('/api/auth/login')
      .set('Content-Type', 'application/json')
      .send('{"email":');
    expect(malformed.status).toBe(400);
  });
});

describe('auth rate limiting (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { AUTH_THROTTLE_LIMIT: '3' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers 429 after the configured number of login attempts', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await request(t.http).post('/api/auth/login').send({ email: 'a@example.com', password: 'password1' })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});
