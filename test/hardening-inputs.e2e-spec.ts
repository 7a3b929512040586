import { Experiment } from '../src/experiments/experiment.entity';
import { User } from '../src/auth/user.entity';
import type { AddressInfo } from 'net';
import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { bearer, registerUser, type TestUser } from './support/factories';

/**
 * Issue 19, inputs that used to answer 500 (or pass silently changed): each must be a 400 that
 * names the problem and changes nothing.
 */
describe('hardening: malformed input is a 400, never a 500 (e2e)', () => {
  let t: TestApp;
  let user: TestUser;
  let experimentId: string;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    user = await registerUser(t.http);
    const res = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({ name: 'target', config: { prompts: ['{{x}}'], models: ['mock:echo'], inputs: [{ x: 1 }] } });
    expect(res.status).toBe(201);
    experimentId = res.body.id as string;
  });
  afterAll(async () => {
    await t?.close();
  });

  const nested = (depth: number): unknown => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { v };
    return v;
  };
  const config = (extra: Record<string, unknown> = {}) => ({
    prompts: ['Summarise {{x}}'],
    models: ['mock:echo'],
    inputs: [{ x: 'a' }],
    ...extra,
  });
  const sweep = (n: number, distinct: boolean) => Array.from({ length: n }, (_, i) => (distinct ? i / 1e6 : 0.5));

  type Case = {
    name: string;
    method: 'get' | 'post' | 'delete';
    path: () => string;
    auth?: boolean;
    body?: unknown;
    raw?: { type: string; data: string | Buffer };
    message: RegExp;
  };
  const cases: Case[] = [
    // 4. NUL reaches PostgreSQL
    {
      name: 'NUL in the login e-mail (no token)',
      method: 'post',
      path: () => '/api/auth/login',
      body: { email: 'a\u0000@x.io', password: 'x' },
      message: /body\.email contains a NUL character/,
    },
    {
      name: 'NUL in the register name',
      method: 'post',
      path: () => '/api/auth/register',
      body: { email: 'nul-name@example.com', password: 'password-123', name: 'a\u0000b' },
      message: /body\.name contains a NUL character/,
    },
    {
      name: 'NUL in a leaderboard query (scorer=%00)',
      method: 'get',
      auth: true,
      path: () => `/api/experiments/${experimentId}/leaderboard?scorer=%00`,
      message: /query\.scorer contains a NUL character/,
    },
    {
      name: 'NUL in a compare query',
      method: 'get',
      auth: true,
      path: () => `/api/experiments/${experimentId}/compare?a=%00&b=x`,
      message: /query\.a contains a NUL character/,
    },
    {
      name: 'NUL in a prompt (stored as jsonb)',
      method: 'post',
      auth: true,
      path: () => '/api/experiments',
      body: { name: 'nul prompt', config: config({ prompts: ['hi \u0000 {{x}}'] }) },
      message: /body\.config\.prompts\[0\] contains a NUL character/,
    },
    {
      name: 'NUL in an input key',
      method: 'post',
      auth: true,
      path: () => '/api/experiments',
      body: { name: 'nul key', config: config({ inputs: [{ 'x\u0000': 1, x: 'a' }] }) },
      message: /body\.config\.inputs\[0\] has a property name that contains a NUL character/,
    },
    {
      name: 'NUL in the URL path',
      method: 'get',
      auth: true,
      path: () => '/api/runs/%00',
      message: /URL path contains a NUL character/,
    },
    // 5. lone surrogates
    {
      name: 'lone surrogate in the register e-mail',
      method: 'post',
      path: () => '/api/auth/register',
      body: { email: 'a\ud800@x.io', password: 'password-123', name: 'n' },
      message: /body\.email contains an unpaired UTF-16 surrogate/,
    },
    {
      name: 'lone surrogate in a member e-mail',
      method: 'post',
      auth: true,
      path: () => `/api/projects/${user.projectId}/members`,
      body: { email: '\udc00b@x.io', role: 'viewer' },
      message: /body\.email contains an unpaired UTF-16 surrogate/,
    },
    {
      name: 'lone surrogate in stored JSON (an input value)',
      method: 'post',
      auth: true,
      path: () => '/api/experiments',
      body: { name: 'surrogate', config: config({ inputs: [{ x: 'ok \ud83d' }] }) },
      message: /body\.config\.inputs\[0\]\.x contains an unpaired UTF-16 surrogate/,
    },
    // 6. depth
    {
      name: 'JSON nested 2,000 levels to login',
      method: 'post',
      path: () => '/api/auth/login',
      raw: { type: 'application/json', data: '['.repeat(2000) + ']'.repeat(2000) },
      message: /body nests deeper than 64 levels/,
    },
    {
      name: 'JSON nested 2,000 levels inside an experiment config',
      method: 'post',
      auth: true,
      path: () => '/api/experiments',
      body: { name: 'deep', config: config({ inputs: [{ x: nested(2000) }] }) },
      message: /body nests deeper than 64 levels/,
    },
    {
      name: 'JSON nested 2,000 levels in a scoring_config',
      method: 'post',
      auth: true,
      path: () => '/api/experiments',
      body: { name: 'deep scorer', config: config(), scoring_config: nested(2000) },
      message: /body nests deeper than 64 levels/,
    },
    // 7. offset beyond PostgreSQL's integer
    ...['9223372036854775808', '1e308', '2147483648'].flatMap((offset): Case[] => [
      {
        name: `runs list with offset=${offset}`,
        method: 'get',
        auth: true,
        path: () => `/api/runs?offset=${offset}`,
        message: /offset must not be greater than 2147483647/,
      },
      {
        name: `experiments list with offset=${offset}`,
        method: 'get',
        auth: true,
        path: () => `/api/experiments?offset=${offset}`,
        message: /offset must not be greater than 2147483647/,
      },
      {
        name: `configuration leaderboard with offset=${offset}`,
        method: 'get',
        auth: true,
        path: () => `/api/experiments/${experimentId}/leaderboard?offset=${offset}`,
        message: /offset must not be greater than 2147483647/,
      },
    ]),
    // 8. very long flat lists
    {
      name: 'a sweep of 170,000 repeated values',
      method: 'post',
      auth: true,
      path: () => '/api/experiments',
      body: { name: 'long sweep', config: config({ params: { temperature: sweep(170_000, false) } }) },
      message: /config\.params\.temperature\[1\] repeats the value 0\.5/,
    },
    {
      name: 'a scorer list of 170,000 entries',
      method: 'post',
      auth: true,
      path: () => '/api/experiments',
      body: { name: 'many scorers', config: config(), scoring_config: { scorers: Array(170_000).fill(1) } },
      message: /scoring_config\.scorers has 170000 entries/,
    },
    {
      name: '100,000 models',
      method: 'post',
      auth: true,
      path: () => '/api/experiments',
      body: { name: 'many models', config: config({ models: Array(100_000).fill('nope') }) },
      message: /config\.models\[0\]/,
    },
    // 9. unknown top-level keys and encodings
    {
      name: 'a top-level "constructor" key',
      method: 'post',
      auth: true,
      path: () => '/api/experiments',
      raw: {
        type: 'application/json',
        data: JSON.stringify({ name: 'ctor', config: config(), constructor: { prototype: { x: 1 } } }),
      },
      message: /property constructor should not exist/,
    },
    {
      name: 'a nested "constructor" key (class-transformer would drop it silently)',
      method: 'post',
      auth: true,
      path: () => '/api/experiments',
      body: { name: 'nested ctor', config: config({ inputs: [{ x: 'a', constructor: 'lost' }] }) },
      message: /body\.config\.inputs\[0\] has the property name "constructor", which is not supported/,
    },
    {
      name: 'a top-level "__proto__" key',
      method: 'post',
      path: () => '/api/auth/login',
      raw: { type: 'application/json', data: '{"email":"a@x.io","password":"x","__proto__":{"admin":true}}' },
      message: /property __proto__ should not exist/,
    },
    {
      name: 'invalid UTF-8 in a JSON body',
      method: 'post',
      auth: true,
      path: () => '/api/experiments',
      raw: {
        type: 'application/json',
        data: Buffer.concat([Buffer.from('{"name":"bad '), Buffer.from([0xff, 0xfe]), Buffer.from('","config":{}}')]),
      },
      message: /not valid UTF-8/,
    },
  ];

  /** Bytes exactly as given (supertest would re-encode a Buffer as JSON). */
  async function rawRequest(
    method: string,
    path: string,
    data: Buffer,
    auth?: boolean,
  ): Promise<{ status: number; body: { message: unknown } }> {
    const { port } = t.http.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: method.toUpperCase(),
      headers: { 'Content-Type': 'application/json', ...(auth ? bearer(user.token) : {}) },
      body: new Uint8Array(data),
    });
    return { status: res.status, body: (await res.json()) as { message: unknown } };
  }

  it.each(cases)('$name → 400 naming the problem', async (c) => {
    let req = request(t.http)[c.method](c.path());
    if (c.auth) req = req.set(bearer(user.token));
    const res = c.raw
      ? Buffer.isBuffer(c.raw.data)
        ? await rawRequest(c.method, c.path(), c.raw.data, c.auth)
        : await req.set('Content-Type', c.raw.type).send(c.raw.data)
      : await req.send(c.body as object);
    expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status: 400 });
    const messages = ([] as unknown[]).concat(res.body.message).map(String);
    expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(c.message)]));
  });

  it('changed nothing: no experiment or user was created by the requests above', async () => {
    expect(await t.dataSource.getRepository(Experiment).count()).toBe(1);
    expect(await t.dataSource.getRepository(User).count()).toBe(1);
  });

  it('still accepts what is legitimate: emoji and surrogate pairs, nesting within the limit', async () => {
    const res = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({ name: 'fine 🎉', config: config({ inputs: [{ x: nested(40), y: '\ud83d\ude00' }] }) });
    expect(res.status).toBe(201);
    expect(res.body.config.inputs[0]).toEqual({ x: nested(40), y: '😀' });
    await request(t.http).delete(`/api/experiments/${res.body.id}`).set(bearer(user.token)).expect(204);
  });
});
