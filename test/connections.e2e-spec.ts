import { type LoggerService } from '@nestjs/common';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../src/app.module';
import { configureApp } from '../src/configure-app';
import { type ResolveAll, UrlPolicy } from '../src/security/url-policy';
import { testConfig } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { addMember, bearer, registerUser, type TestUser } from './support/factories';
import { type FakeLlmServer, startFakeLlmServer } from './support/fake-llm-server';
import { waitFor } from './support/wait';
import { startAll } from './support/start-all';

type Http = Parameters<typeof request>[0];

/** Every line any Nest logger wrote, whatever its level. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  private add(level: string, message: unknown, rest: unknown[]) {
    this.lines.push(
      `${level} ${[message, ...rest].map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ')}`,
    );
  }
  log(message: unknown, ...rest: unknown[]) {
    this.add('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.add('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.add('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.add('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.add('verbose', message, rest);
  }
}

interface App {
  http: Http;
  logs: CapturingLogger;
  /** Every response body this suite received, as text. */
  bodies: string[];
  close(): Promise<void>;
}

async function startApp(database: TestDatabase, env: Record<string, string>, resolve?: ResolveAll): Promise<App> {
  const config = testConfig(database.url, { LOG_LEVEL: 'verbose', ...env });
  let builder = Test.createTestingModule({ imports: [AppModule.forRoot(config)] });
  if (resolve) {
    builder = builder.overrideProvider(UrlPolicy).useValue(new UrlPolicy({ allowPrivate: false, resolve }));
  }
  const moduleRef = await builder.compile();
  const logs = new CapturingLogger();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: logs });
  configureApp(app);
  await app.init();
  return {
    http: app.getHttpServer() as Http,
    logs,
    bodies: [],
    close: () => app.close(),
  };
}

const SECRET_A = 'sk-alpha-0123456789-SECRET-A1';
const SECRET_A2 = 'sk-alpha-rotated-9876-SECRET-A2';
const SECRET_SHADOW = 'sk-shadow-5555-SECRET-S';
const SECRET_ANTHROPIC = 'sk-ant-7777-SECRET-C';
const INSTANCE_KEY = 'sk-instance-0000-SECRET-I';
const HEADER_SECRET = 'team-header-SECRET-H';

describe('provider connections (per project, encrypted, resolved at creation and run time)', () => {
  let database: TestDatabase;
  let instance: FakeLlmServer;
  let fakeA: FakeLlmServer;
  let fakeB: FakeLlmServer;
  let fakeAnthropic: FakeLlmServer;
  let t: App;
  let owner: TestUser;
  let editor: TestUser;
  let outsider: TestUser;

  beforeAll(async () => {
    await startAll([
      createTestDatabase().then((d) => (database = d)),
      startFakeLlmServer().then((f) => (instance = f)),
      startFakeLlmServer().then((f) => (fakeA = f)),
      startFakeLlmServer().then((f) => (fakeB = f)),
      startFakeLlmServer().then((f) => (fakeAnthropic = f)),
    ]);
    t = await startApp(database, {
      ALLOW_PRIVATE_URLS: 'true',
      OPENAI_BASE_URL: instance.url,
      OPENAI_API_KEY: INSTANCE_KEY,
    });
    owner = await registerUser(t.http);
    editor = await registerUser(t.http);
    outsider = await registerUser(t.http);
    await addMember(t.http, owner, owner.projectId, editor, 'editor');
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([instance, fakeA, fakeB, fakeAnthropic].map((s) => s?.close()));
    await database?.drop();
  });

  /** A request whose response body is recorded for the secrecy check at the end. */
  async function call(method: 'get' | 'post' | 'patch' | 'delete', path: string, user: TestUser, body?: object) {
    const res = await request(t.http)[method](path).set(bearer(user.token)).send(body);
    t.bodies.push(res.text ?? '');
    return res;
  }

  let runCount = 0;
  async function runOnce(
    user: TestUser,
    projectId: string,
    model: string,
  ): Promise<{ status: string; error: unknown }> {
    const created = await call('post', '/api/experiments', user, {
      name: `one-${model}`,
      project_id: projectId,
      // A fresh input each time: the run cache must not answer instead of the provider.
      config: {
        prompts: ['Say {{x}}'],
        models: [model],
        params: { max_tokens: 16 },
        inputs: [{ x: `hi ${++runCount}` }],
      },
    });
    expect(created.status).toBe(201);
    const launched = await call('post', `/api/experiments/${created.body.id}/launch`, user, {});
    expect(launched.status).toBe(202);
    const experiment = await waitFor(
      async () => {
        const res = await call('get', `/api/experiments/${created.body.id}`, user);
        return res.body.status === 'completed' ? res.body : null;
      },
      { what: `experiment on ${model} to complete` },
    );
    const runs = await call('get', `/api/runs?experiment_id=${experiment.id}`, user);
    return { status: runs.body.items[0].status, error: runs.body.items[0].error };
  }

  it('owner creates connections; responses carry no secret, last4 for owners only', async () => {
    const created = await call('post', `/api/projects/${owner.projectId}/connections`, owner, {
      name: 'work-openai',
      kind: 'openai',
      base_url: fakeA.url,
      api_key: SECRET_A,
      headers: { 'X-Team': HEADER_SECRET },
      max_concurrency: 4,
      prices: { 'gpt-local': { input: 1, output: 2 } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'work-openai',
      kind: 'openai',
      base_url: fakeA.url,
      api_key_set: true,
      api_key_last4: SECRET_A.slice(-4),
      header_names: ['X-Team'],
      max_concurrency: 4,
      prices: { 'gpt-local': { input: 1, output: 2 } },
    });
    const anthropic = await call('post', `/api/projects/${owner.projectId}/connections`, owner, {
      name: 'claude',
      kind: 'anthropic',
      base_url: fakeAnthropic.anthropicUrl,
      api_key: SECRET_ANTHROPIC,
    });
    expect(anthropic.status).toBe(201);

    const asOwner = await call('get', `/api/projects/${owner.projectId}/connections`, owner);
    expect(asOwner.body.total).toBe(2);
    const asEditor = await call('get', `/api/projects/${owner.projectId}/connections`, editor);
    expect(asEditor.status).toBe(200);
    expect(asEditor.body.items.map((c: { name: string }) => c.name)).toEqual(['claude', 'work-openai']);
    expect(asEditor.body.items[0]).not.toHaveProperty('api_key_last4');
    expect(asEditor.body.items[0].api_key_set).toBe(true);
  });

  it('refuses bad input with 4xx and changes nothing', async () => {
    const path = `/api/projects/${owner.projectId}/connections`;
    const bad = await call('post', path, owner, {
      name: 'Bad Name',
      kind: 'azure',
      rpm_limit: 0,
      unknown_field: 1,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message.join(' ')).toMatch(/name must match/);
    expect((await call('post', path, owner, { name: 'mock', kind: 'openai' })).body.message).toEqual([
      'name "mock" is reserved',
    ]);
    const badHeaders = await call('post', path, owner, {
      name: 'h',
      kind: 'openai',
      headers: { Host: 'x', 'X-A': 'a\nb' },
    });
    expect(badHeaders.status).toBe(400);
    expect((await call('post', path, owner, { name: 'work-openai', kind: 'openai' })).status).toBe(409);
    expect((await call('post', path, editor, { name: 'mine', kind: 'openai' })).status).toBe(403);
    expect(
      (await call('post', `/api/projects/${owner.projectId}/connections`, outsider, { name: 'x', kind: 'openai' }))
        .status,
    ).toBe(404);
    expect((await call('get', path, outsider)).status).toBe(404);
    expect((await call('get', path, owner)).body.total).toBe(2);
  });

  it('resolves models per project: A runs its connections, B cannot use them (400)', async () => {
    const a = await runOnce(owner, owner.projectId, 'work-openai:gpt-local');
    expect(a.status).toBe('completed');
    const seen = fakeA.requests.filter((r) => r.model === 'gpt-local');
    expect(seen).toHaveLength(1);
    expect(seen[0].headers.authorization).toBe(`Bearer ${SECRET_A}`);
    expect(seen[0].headers['x-team']).toBe(HEADER_SECRET);

    const c = await runOnce(owner, owner.projectId, 'claude:claude-3-5-haiku');
    expect(c.status).toBe('completed');
    const messages = fakeAnthropic.requests.filter((r) => r.api === 'anthropic');
    expect(messages.map((r) => r.model)).toEqual(['claude-3-5-haiku']);
    expect(messages[0].headers.authorization ?? messages[0].headers['x-api-key']).toMatch(SECRET_ANTHROPIC);

    const b = await call('post', '/api/experiments', outsider, {
      name: 'steal',
      project_id: outsider.projectId,
      config: { prompts: ['x'], models: ['work-openai:gpt-local'], inputs: [{}] },
    });
    expect(b.status).toBe(400);
    expect(b.body.message.join(' ')).toMatch(/Unknown provider "work-openai"/);
    // Ad-hoc runs resolve per project too.
    const editorExperiment = await call('post', '/api/experiments', editor, {
      name: 'editor-uses',
      project_id: owner.projectId,
      config: { prompts: ['x'], models: ['work-openai:gpt-local'], inputs: [{}] },
    });
    expect(editorExperiment.status).toBe(201);
  });

  it('a project connection named openai shadows the instance provider for that project only', async () => {
    const shadow = await call('post', `/api/projects/${owner.projectId}/connections`, owner, {
      name: 'openai',
      kind: 'openai',
      base_url: fakeB.url,
      api_key: SECRET_SHADOW,
    });
    expect(shadow.status).toBe(201);
    expect((await runOnce(owner, owner.projectId, 'openai:gpt-4o-mini')).status).toBe('completed');
    expect(fakeB.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${SECRET_SHADOW}`]);
    expect(instance.requests).toHaveLength(0);

    expect((await runOnce(outsider, outsider.projectId, 'openai:gpt-4o-mini')).status).toBe('completed');
    expect(instance.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${INSTANCE_KEY}`]);
    expect(fakeB.requests).toHaveLength(1);
  });

  it('a PATCHed key applies to the calls that start afterwards', async () => {
    const list = await call('get', `/api/projects/${owner.projectId}/connections`, owner);
    const id = list.body.items.find((c: { name: string }) => c.name === 'work-openai').id as string;
    const patched = await call('patch', `/api/connections/${id}`, owner, { api_key: SECRET_A2 });
    expect(patched.status).toBe(200);
    expect(patched.body.api_key_last4).toBe(SECRET_A2.slice(-4));
    expect((await call('patch', `/api/connections/${id}`, editor, { api_key: 'x' })).status).toBe(403);
    expect((await call('patch', `/api/connections/${id}`, outsider, { api_key: 'x' })).status).toBe(404);

    fakeA.reset();
    expect((await runOnce(owner, owner.projectId, 'work-openai:gpt-local')).status).toBe('completed');
    expect(fakeA.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${SECRET_A2}`]);
  });

  it('an llm_judge model under a connection prefix is accepted (create, PATCH) and judges through it', async () => {
    const judge = (model: string) => ({
      scorers: [{ name: 'judge', type: 'llm_judge', params: { model, rubric: 'Is "{{output}}" polite?' } }],
    });
    const body = (model: string) => ({
      name: `judged-${model}`,
      project_id: owner.projectId,
      config: { prompts: ['Say {{x}}'], models: ['mock:echo'], inputs: [{ x: `judged ${++runCount}` }] },
      scoring_config: judge(model),
    });
    const unknown = await call('post', '/api/experiments', owner, body('nowhere:gpt-judge'));
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toHaveLength(1);
    expect(unknown.body.message[0]).toMatch(
      /^scoring_config\.scorers\[0\] \(name "judge"\): params\.model: Unknown provider "nowhere" in model "nowhere:gpt-judge": this project offers .*\bwork-openai\b/,
    );
    // Each prefix is offered once, even the instance provider a connection shadows.
    const offered = (unknown.body.message[0] as string).split('this project offers ')[1].split(', ');
    expect(offered).toEqual([...new Set(offered)]);
    expect(offered).toEqual(expect.arrayContaining(['mock', 'openai', 'anthropic', 'work-openai']));
    // Project B does not see A's connection: its judge is refused the same way.
    const foreign = await call('post', '/api/experiments', outsider, {
      ...body('work-openai:gpt-judge'),
      project_id: outsider.projectId,
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.message.join(' ')).toMatch(/params\.model: Unknown provider "work-openai"/);

    // PATCH: a judge under an unknown prefix is refused and changes nothing; the connection's is accepted.
    const draft = await call('post', '/api/experiments', owner, body('mock:echo'));
    expect(draft.status).toBe(201);
    const refused = await call('patch', `/api/experiments/${draft.body.id}`, owner, {
      scoring_config: judge('nowhere:gpt-judge'),
    });
    expect(refused.status).toBe(400);
    expect(refused.body.message.join(' ')).toMatch(/scoring_config\.scorers\[0\].*Unknown provider "nowhere"/);
    expect((await call('get', `/api/experiments/${draft.body.id}`, owner)).body.scoring_config).toEqual(
      judge('mock:echo'),
    );
    const patched = await call('patch', `/api/experiments/${draft.body.id}`, owner, {
      scoring_config: judge('work-openai:gpt-judge'),
    });
    expect(patched.status).toBe(200);
    expect(patched.body.scoring_config).toEqual(judge('work-openai:gpt-judge'));

    const created = await call('post', '/api/experiments', owner, body('work-openai:gpt-judge'));
    expect(created.status).toBe(201);
    fakeA.reset();
    fakeA.setResponder((req) =>
      req.model === 'gpt-judge' ? { output: '{"score": 0.75, "reason": "polite"}' } : undefined,
    );
    expect((await call('post', `/api/experiments/${created.body.id}/launch`, owner, {})).status).toBe(202);
    const run = await waitFor(
      async () => {
        const list = await call('get', `/api/runs?experiment_id=${created.body.id}`, owner);
        const [item] = list.body.items as Array<{ id: string; status: string }>;
        if (item?.status !== 'completed') return null;
        const detail = await call('get', `/api/runs/${item.id}`, owner);
        return detail.body.scores?.length > 0 ? detail.body : null;
      },
      { timeoutMs: 60_000, what: 'the judged run to be scored' },
    );
    expect(run.scores.map((s: { scorer_name: string; value: number }) => [s.scorer_name, s.value])).toEqual([
      ['judge', 0.75],
    ]);
    // The judge call went to the connection's base URL (fake A) with its (rotated) key, not to the instance.
    const judged = fakeA.requests.filter((r) => r.model === 'gpt-judge');
    expect(judged).toHaveLength(1);
    expect(judged[0].path).toBe('/v1/chat/completions');
    expect(judged[0].headers.authorization).toBe(`Bearer ${SECRET_A2}`);
    expect(judged[0].prompt).toBe(`Is "Say judged ${runCount}" polite?`);
    expect(instance.requests.filter((r) => r.model === 'gpt-judge')).toEqual([]);
    fakeA.setResponder(null);
  });

  it('deleting a connection makes its prefix unknown again', async () => {
    const list = await call('get', `/api/projects/${owner.projectId}/connections`, owner);
    const id = list.body.items.find((c: { name: string }) => c.name === 'claude').id as string;
    expect((await call('delete', `/api/connections/${id}`, editor)).status).toBe(403);
    expect((await call('delete', `/api/connections/${id}`, owner)).status).toBe(204);
    const after = await call('post', '/api/experiments', owner, {
      name: 'gone',
      project_id: owner.projectId,
      config: { prompts: ['x'], models: ['claude:claude-3-5-haiku'], inputs: [{}] },
    });
    expect(after.status).toBe(400);
  });

  it('no secret ever appears in a response body or a log line', () => {
    const secrets = [SECRET_A, SECRET_A2, SECRET_SHADOW, SECRET_ANTHROPIC, HEADER_SECRET, INSTANCE_KEY];
    expect(t.bodies.length).toBeGreaterThan(20);
    expect(t.logs.lines.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(t.bodies.filter((b) => b.includes(secret))).toEqual([]);
      expect(t.logs.lines.filter((l) => l.includes(secret))).toEqual([]);
    }
  });
});

describe('SSRF policy for connection base URLs (distributed-mode configuration)', () => {
  let database: TestDatabase;
  let fake: FakeLlmServer;
  let t: App;
  let owner: TestUser;
  /** What `rebind.test` resolves to right now (a DNS-rebinding attacker controls this). */
  let rebindTo = '93.184.216.34';

  beforeAll(async () => {
    await startAll([createTestDatabase().then((d) => (database = d)), startFakeLlmServer().then((f) => (fake = f))]);
    const names: Record<string, () => string> = {
      'llm.internal.test': () => '127.0.0.1',
      'metadata.internal.test': () => '169.254.169.254',
      'rebind.test': () => rebindTo,
      'public.test': () => '93.184.216.34',
    };
    const resolve: ResolveAll = (hostname) => {
      const address = names[hostname]?.();
      if (!address) return Promise.reject(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
      return Promise.resolve([{ address, family: address.includes(':') ? 6 : 4 }]);
    };
    // DATABASE_URL is set and ALLOW_PRIVATE_URLS is not: the distributed default (refuse).
    t = await startApp(database, { PROVIDER_MAX_ATTEMPTS: '2' }, resolve);
    owner = await registerUser(t.http);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    await database?.drop();
  });

  const port = () => new URL(fake.url).port;

  it.each([
    ['a loopback literal', () => fake.url, /127\.0\.0\.1 is a loopback address/],
    ['localhost', () => `http://localhost:${port()}/v1`, /localhost is a local name/],
    [
      'a name that resolves to 127.0.0.1',
      () => `http://llm.internal.test:${port()}/v1`,
      /loopback address \(127\.0\.0\.1\)/,
    ],
    ['the metadata address', () => 'http://169.254.169.254/latest', /metadata/],
    ['a name resolving to the metadata address', () => 'http://metadata.internal.test/', /metadata/],
    ['IPv4-mapped IPv6 loopback', () => `http://[::ffff:127.0.0.1]:${port()}/v1`, /loopback/],
    ['a private address', () => 'http://10.0.0.7:11434/v1', /private address/],
  ])('refuses %s with 400', async (_what, url, message) => {
    const res = await request(t.http)
      .post(`/api/projects/${owner.projectId}/connections`)
      .set(bearer(owner.token))
      .send({ name: 'local', kind: 'openai', base_url: url(), api_key: 'sk-whatever-1234' });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.message)).toMatch(message);
    expect(JSON.stringify(res.body.message)).toMatch(/ALLOW_PRIVATE_URLS/);
  });

  it('refuses a name that does not resolve', async () => {
    const res = await request(t.http)
      .post(`/api/projects/${owner.projectId}/connections`)
      .set(bearer(owner.token))
      .send({ name: 'local', kind: 'openai', base_url: 'http://nowhere.test/v1' });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(['base_url host nowhere.test does not resolve']);
  });

  it('refuses a PATCH to a private base_url', async () => {
    const created = await request(t.http)
      .post(`/api/projects/${owner.projectId}/connections`)
      .set(bearer(owner.token))
      .send({ name: 'public', kind: 'openai', base_url: 'https://public.test/v1' });
    expect(created.status).toBe(201);
    const res = await request(t.http)
      .patch(`/api/connections/${created.body.id}`)
      .set(bearer(owner.token))
      .send({ base_url: fake.url });
    expect(res.status).toBe(400);
    const list = await request(t.http).get(`/api/projects/${owner.projectId}/connections`).set(bearer(owner.token));
    expect(list.body.items[0].base_url).toBe('https://public.test/v1');
  });

  it('re-checks at call time: a name that rebinds to 127.0.0.1 fails the run and reaches nothing', async () => {
    rebindTo = '93.184.216.34';
    const created = await request(t.http)
      .post(`/api/projects/${owner.projectId}/connections`)
      .set(bearer(owner.token))
      .send({ name: 'rebind', kind: 'openai', base_url: `http://rebind.test:${port()}/v1`, api_key: 'sk-rebind-1234' });
    expect(created.status).toBe(201);
    rebindTo = '127.0.0.1';
    const experiment = await request(t.http)
      .post('/api/experiments')
      .set(bearer(owner.token))
      .send({
        name: 'rebind',
        project_id: owner.projectId,
        config: { prompts: ['x'], models: ['rebind:m'], inputs: [{}] },
      });
    expect(experiment.status).toBe(201);
    await request(t.http).post(`/api/experiments/${experiment.body.id}/launch`).set(bearer(owner.token)).send({});
    const run = await waitFor(
      async () => {
        const res = await request(t.http).get(`/api/runs?experiment_id=${experiment.body.id}`).set(bearer(owner.token));
        return res.body.items[0]?.status === 'failed' ? res.body.items[0] : null;
      },
      { what: 'the rebinding run to fail' },
    );
    expect(run.error).toMatch(/rebind\.test is a loopback address \(127\.0\.0\.1\)/);
    expect(fake.requests).toHaveLength(0);
  });
});
