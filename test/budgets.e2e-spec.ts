import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { bearer, registerUser, type TestUser } from './support/factories';
import { type FakeLlmServer, startFakeLlmServer } from './support/fake-llm-server';
import { waitFor } from './support/wait';

const CONCURRENCY = 4;
/** USD per million tokens: 1000 → $0.001 a token, so a few calls exhaust a small budget. */
const PRICE = { input: 1000, output: 1000 };

describe('experiment budgets (reserved before each call, settled after, stop on exhaustion)', () => {
  let t: TestApp;
  let fake: FakeLlmServer;
  let user: TestUser;

  beforeAll(async () => {
    fake = await startFakeLlmServer();
    t = await createTestApp({ env: { ALLOW_PRIVATE_URLS: 'true', WORKER_CONCURRENCY: String(CONCURRENCY) } });
    user = await registerUser(t.http);
    const conn = await request(t.http)
      .post(`/api/projects/${user.projectId}/connections`)
      .set(bearer(user.token))
      .send({ name: 'paid', kind: 'openai', base_url: fake.url, api_key: 'sk-paid-1234', prices: { m: PRICE } });
    expect(conn.status).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const inputs = (n: number) => Array.from({ length: n }, (_, i) => ({ x: `item ${i}` }));

  it('refuses a budget over an unpriced model (400) and validates budget_usd', async () => {
    const unpriced = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({
        name: 'unpriced',
        project_id: user.projectId,
        budget_usd: 1,
        config: { prompts: ['{{x}}'], models: ['paid:unlisted', 'mock:echo'], inputs: inputs(1) },
      });
    expect(unpriced.status).toBe(400);
    expect(unpriced.body.message.join(' ')).toMatch(/budget_usd: model "paid:unlisted" has no price/);
    const negative = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({ name: 'neg', budget_usd: -1, config: { prompts: ['x'], models: ['mock:echo'], inputs: [{}] } });
    expect(negative.status).toBe(400);
    const judged = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({
        name: 'judge-unpriced',
        budget_usd: 1,
        config: { prompts: ['x'], models: ['mock:echo'], inputs: [{}] },
        scoring_config: {
          scorers: [{ name: 'j', type: 'llm_judge', params: { model: 'openai:no-such-model', rubric: 'ok?' } }],
        },
      });
    expect(judged.status).toBe(400);
  });

  it('stops at the budget: no call starts after it, remaining runs cancelled, experiment cancelled', async () => {
    const budget = 0.1;
    const created = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({
        name: 'capped',
        project_id: user.projectId,
        budget_usd: budget,
        config: { prompts: ['Say {{x}}'], models: ['paid:m'], params: { max_tokens: 10 }, inputs: inputs(40) },
      });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      budget_usd: budget,
      spend: { cost_usd: 0, judge_cost_usd: 0 },
      stop_reason: null,
    });

    const dry = await request(t.http)
      .post(`/api/experiments/${created.body.id}/launch`)
      .set(bearer(user.token))
      .send({ dry_run: true });
    expect(dry.status).toBe(202);
    expect(dry.body.budget_usd).toBe(budget);
    expect(dry.body.fits_budget).toBe(false);

    const launched = await request(t.http)
      .post(`/api/experiments/${created.body.id}/launch`)
      .set(bearer(user.token))
      .send({});
    expect(launched.status).toBe(202);
    const experiment = await waitFor(
      async () => {
        const res = await request(t.http).get(`/api/experiments/${created.body.id}`).set(bearer(user.token));
        return res.body.status === 'cancelled' && res.body.progress.pending + res.body.progress.running === 0
          ? res.body
          : null;
      },
      { what: 'the budget to stop the experiment' },
    );
    expect(experiment.stop_reason).toBe('budget_exhausted');
    const runs = await request(t.http)
      .get(`/api/runs?experiment_id=${created.body.id}&limit=100`)
      .set(bearer(user.token));
    const completed = runs.body.items.filter((r: { status: string }) => r.status === 'completed');
    const cancelled = runs.body.items.filter((r: { status: string }) => r.status === 'cancelled');
    expect(completed.length).toBeGreaterThan(0);
    expect(cancelled.length).toBeGreaterThan(0);
    expect(completed.length + cancelled.length).toBe(40);
    expect(cancelled.every((r: { error: string }) => r.error === 'budget exhausted')).toBe(true);
    // Every provider call that started belongs to a completed run: none started after the stop.
    expect(fake.requests).toHaveLength(completed.length);

    const spent = completed.reduce((sum: number, r: { cost_estimate: number }) => sum + r.cost_estimate, 0);
    expect(experiment.spend.cost_usd).toBeCloseTo(spent, 9);
    // The overshoot bound: at most the calls in flight (each at most its reserved estimate);
    // the reservation is an upper bound here, so spend stays within the budget itself.
    const maxCall = Math.max(...completed.map((r: { cost_estimate: number }) => r.cost_estimate));
    expect(experiment.spend.cost_usd).toBeLessThanOrEqual(budget + CONCURRENCY * maxCall);
    expect(experiment.spend.cost_usd).toBeLessThanOrEqual(budget);
    expect(experiment.spend.judge_cost_usd).toBe(0);
  });

  it('experiments without a budget still show their spend', async () => {
    const created = await request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({
        name: 'free',
        project_id: user.projectId,
        config: { prompts: ['Hi {{x}}'], models: ['paid:m'], inputs: inputs(2) },
      });
    await request(t.http).post(`/api/experiments/${created.body.id}/launch`).set(bearer(user.token)).send({});
    const done = await waitFor(async () => {
      const res = await request(t.http).get(`/api/experiments/${created.body.id}`).set(bearer(user.token));
      return res.body.status === 'completed' ? res.body : null;
    });
    expect(done.budget_usd).toBeNull();
    expect(done.spend.cost_usd).toBeGreaterThan(0);
    expect(done.stop_reason).toBeNull();
  });
});
