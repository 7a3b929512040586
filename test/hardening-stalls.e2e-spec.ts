import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { bearer, registerUser, type TestUser } from './support/factories';
import { waitFor } from './support/wait';

/**
 * Issue 19, stalls: one request must never freeze the others. In embedded mode runs are scored on
 * the API's event loop, so a hostile pattern or a quadratic validation would stall /api/health.
 */
describe('hardening: no request stalls the server (e2e)', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    user = await registerUser(t.http);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Polls /api/health while `work` runs; returns the slowest answer in ms. */
  async function slowestHealthDuring(work: Promise<unknown>): Promise<number> {
    let done = false;
    let slowest = 0;
    const settled = work.finally(() => (done = true));
    while (!done) {
      const started = Date.now();
      const res = await request(t.http).get('/api/health');
      expect(res.status).toBe(200);
      slowest = Math.max(slowest, Date.now() - started);
      await new Promise((r) => setTimeout(r, 20));
    }
    await settled;
    return slowest;
  }

  it.each([
    ['regex (a|a)*$ with the i flag', { type: 'regex', params: { pattern: '(a|a)*$', flags: 'i' } }],
    ['regex (a|a)*$ with the u flag', { type: 'regex', params: { pattern: '(a|a)*$', flags: 'u' } }],
    [
      'json_schema with pattern ^(a|a)*$',
      {
        type: 'json_schema',
        params: { schema: { type: 'object', properties: { x: { type: 'string', pattern: '^(a|a)*$' } } } },
      },
    ],
  ])('scores with %s without stalling /api/health', async (_label, scorer) => {
    // Output = the prompt (mock:echo): 29 "a" then "!", exponential for a backtracking engine.
    const text = 'a'.repeat(29) + '!';
    const prompt = scorer.type === 'json_schema' ? JSON.stringify({ x: text }) : text;
    const created = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({
        name: `stall ${_label}`,
        config: { prompts: [prompt], models: ['mock:echo'], inputs: [{}], repetitions: 3 },
        scoring_config: { scorers: [{ name: 's', ...scorer }] },
      });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const launched = await request(t.http).post(`/api/experiments/${id}/launch`).set(bearer(user.token)).send({});
    expect(launched.status).toBe(202);
    const finished = waitFor(
      async () => {
        const res = await request(t.http).get(`/api/experiments/${id}`).set(bearer(user.token));
        return res.body.status === 'completed' ? res.body : null;
      },
      { timeoutMs: 30_000, what: 'the experiment to complete' },
    );
    // 64.5 s before; a second or two at most when other suites share the machine's two cores.
    expect(await slowestHealthDuring(finished)).toBeLessThan(2000);
    const runs = await request(t.http).get(`/api/runs?experiment_id=${id}`).set(bearer(user.token));
    expect(runs.body.items).toHaveLength(3);
    const detail = await request(t.http).get(`/api/runs/${runs.body.items[0].id}`).set(bearer(user.token));
    expect(detail.body.status).toBe('completed');
    expect(detail.body.scores).toEqual([expect.objectContaining({ scorer_name: 's', value: expect.any(Number) })]);
  });

  it('validates 10,000 variables × 40,000 inputs in linear time, listing 50 problems and a count', async () => {
    const prompt = Array.from({ length: 10_000 }, (_, i) => `{{v${i}}}`).join('');
    const body = {
      name: 'quadratic',
      config: { prompts: [prompt], models: ['mock:echo'], inputs: Array.from({ length: 40_000 }, () => ({})) },
    };
    // The linear time of the check itself is asserted by its unit test (15.7 s before).
    const res = await request(t.http).post('/api/experiments').set(bearer(user.token)).send(body);
    expect(res.status).toBe(400);
    expect(res.body.message).toHaveLength(51);
    expect(res.body.message[0]).toBe('config.inputs[0] lacks {{v0}} (used by config.prompts[0])');
    expect(res.body.message[50]).toBe(`… and ${10_000 * 40_000 - 50} more problem(s)`);
  });

  it('answers a request with a hundred thousand problems with a small body', async () => {
    // ~900 KB of inputs that are not objects: one problem each.
    const inputs = Array.from({ length: 150_000 }, (_, i) => i);
    const res = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({ name: 'many problems', config: { prompts: ['p'], models: ['mock:echo'], inputs } });
    expect(res.status).toBe(400);
    expect(res.body.message).toHaveLength(51);
    expect(res.body.message[50]).toBe('… and 149950 more problem(s)');
    expect(JSON.stringify(res.body).length).toBeLessThan(10_000);
  });
});
