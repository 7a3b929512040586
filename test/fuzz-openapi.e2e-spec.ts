import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { bearer, registerUser, type TestUser } from './support/factories';
import { type FuzzCase, fuzzCases, type OpenApiDocument } from './support/openapi-fuzz';

jest.setTimeout(300_000);

/** Cases per operation (FUZZ_PER_OPERATION; bench/fuzz.ts runs as many as asked against a real server). */
const PER_OPERATION = Number(process.env.FUZZ_PER_OPERATION ?? 2);
/**
 * The bound on `/api/health` during the pass. On a loaded machine (CI, parallel suites) the
 * bound is three times the slowest of the same checks taken just before the pass, if that is more.
 */
const HEALTH_BOUND_MS = 1000;

/**
 * Issue 19, the fuzz pass: malformed requests for every operation of `/docs-json` (see
 * support/openapi-fuzz.ts), sent with a real user's token. No 5xx, and `/api/health` keeps
 * answering promptly throughout.
 */
describe('fuzz: malformed requests on every operation of /docs-json (e2e)', () => {
  let t: TestApp;
  let user: TestUser;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    user = await registerUser(t.http);
    doc = (await request(t.http).get('/docs-json').expect(200)).body as OpenApiDocument;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers no 5xx and never stalls /api/health', async () => {
    const experiment = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({ name: 'fuzz', config: { prompts: ['Hi {{n}}'], models: ['mock:echo'], inputs: [{ n: 1 }] } })
      .expect(201);
    const known = { id: (experiment.body as { id: string }).id, projectId: user.projectId };
    const cases = fuzzCases(doc, PER_OPERATION, known, { longString: 20_000 });
    const operations = new Set(cases.map((c) => c.operation));
    expect(operations.size).toBeGreaterThan(40);

    const health = async (): Promise<number> => {
      const started = Date.now();
      await request(t.http).get('/api/health').expect(200);
      return Date.now() - started;
    };
    let baseline = 0;
    for (let i = 0; i < 20; i++) baseline = Math.max(baseline, await health());
    const bound = Math.max(HEALTH_BOUND_MS, 3 * baseline);

    const failures: string[] = [];
    // Health, sequentially, for as long as the pass lasts: each answer's latency.
    let running = true;
    const latencies: number[] = [];
    const monitor = (async () => {
      while (running) {
        const started = Date.now();
        const health = await request(t.http).get('/api/health');
        latencies.push(Date.now() - started);
        if (health.status !== 200) failures.push(`/api/health → ${health.status}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    let peakRss = process.memoryUsage().rss;
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < cases.length) {
          const c = cases[next++];
          const res = await send(t, user.token, c).catch((error: Error) => ({ status: 599, text: error.message }));
          if (res.status >= 500) failures.push(`${c.operation} [${c.kind}] → ${res.status} ${res.text.slice(0, 200)}`);
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }
      }),
    );
    running = false;
    await monitor;
    const maxHealth = Math.max(...latencies);
    console.log(
      `fuzz: ${cases.length} requests over ${operations.size} operations in ${Date.now() - started} ms; ` +
        `health max ${maxHealth} ms over ${latencies.length} checks (before: ${baseline} ms, bound ${bound} ms); peak RSS ${Math.round(peakRss / 2 ** 20)} MiB (jest process)`,
    );
    expect(failures).toEqual([]);
    expect(latencies.length).toBeGreaterThan(0);
    expect(maxHealth).toBeLessThan(bound);
  });
});

function send(t: TestApp, token: string, c: FuzzCase): Promise<request.Response> {
  let req = request(t.http)[c.method](c.url).set(bearer(token));
  if (c.body !== undefined) req = req.set('Content-Type', 'application/json').send(c.body);
  // An answer that never comes is a failure too (a stall, or a stream left open).
  return req.timeout({ response: 15_000 }).ok(() => true);
}
