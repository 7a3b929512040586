import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { WebhookSweeper } from '../src/webhooks/webhook-sweeper';
import { createTestApp, type TestApp } from './support/app';
import { addMember, bearer, createApiKey, registerUser, type TestUser } from './support/factories';
import { waitFor } from './support/wait';
import {
  type ReceivedWebhook,
  signatureMatches,
  startWebhookReceiver,
  type WebhookReceiver,
} from './support/webhook-receiver';
import { startAll } from './support/start-all';

/** Fast retries (50 ms, 600 ms, …), a short timeout and frequent polling, so retries happen within a test. */
const FAST = {
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_POLL_INTERVAL_MS: '100',
  // The receiver listens on 127.0.0.1.
  ALLOW_PRIVATE_URLS: 'true',
};

describe('webhooks (embedded delivery)', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let owner: TestUser;

  beforeAll(async () => {
    await startAll([
      createTestApp({ env: FAST }).then((a) => (t = a)),
      startWebhookReceiver().then((r) => (receiver = r)),
    ]);
    owner = await registerUser(t.http);
  });

  afterEach(() => receiver.reset());

  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  async function subscribe(body: Record<string, unknown> = {}, user = owner): Promise<{ id: string; secret: string }> {
    const res = await request(t.http)
      .post(`/api/projects/${user.projectId}/webhooks`)
      .set(bearer(user.token))
      .send({ url: `${receiver.url}/hooks`, events: ['experiment.completed'], ...body });
    expect(res.status).toBe(201);
    return res.body;
  }

  const ping = (id: string) => request(t.http).post(`/api/webhooks/${id}/test`).set(bearer(owner.token));
  const log = async (id: string) =>
    (await request(t.http).get(`/api/webhooks/${id}/deliveries`).set(bearer(owner.token)).expect(200)).body;
  const hooksWithId = (eventId: string): ReceivedWebhook[] => receiver.received.filter((h) => h.id === eventId);

  describe('subscriptions', () => {
    it('creates a subscription with a whsec_ secret shown once, stored encrypted, listed without it', async () => {
      const created = await subscribe({ description: 'nightly', events: ['experiment.completed', 'run.failed'] });
      expect(created).toMatchObject({
        project_id: owner.projectId,
        url: `${receiver.url}/hooks`,
        events: ['experiment.completed', 'run.failed'],
        description: 'nightly',
        enabled: true,
        consecutive_failures: 0,
        disabled_reason: null,
        previous_secret_expires_at: null,
      });
      expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32);

      const [stored] = await t.dataSource.query(`SELECT * FROM webhook_subscriptions WHERE id = $1`, [created.id]);
      expect(JSON.stringify(stored)).not.toContain(created.secret.slice(6));

      const list = await request(t.http).get(`/api/projects/${owner.projectId}/webhooks`).set(bearer(owner.token));
      expect(list.status).toBe(200);
      expect(list.body.total).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(list.body)).not.toContain(created.secret.slice(6));
      expect(list.body.items.find((w: { id: string }) => w.id === created.id)).not.toHaveProperty('secret');
      const one = await request(t.http).get(`/api/webhooks/${created.id}`).set(bearer(owner.token));
      expect(one.status).toBe(200);
      expect(one.body).not.toHaveProperty('secret');
    });

    it('rejects bad bodies with 400 and writes nothing', async () => {
      const base = `/api/projects/${owner.projectId}/webhooks`;
      const before = await t.dataSource.query(`SELECT count(*)::int AS n FROM webhook_subscriptions`);
      for (const body of [
        { url: `${receiver.url}/x`, events: [] },
        { url: `${receiver.url}/x`, events: ['experiment.exploded'] },
        { url: `${receiver.url}/x`, events: ['ping'] },
        { url: 'ftp://example.com/x', events: ['experiment.completed'] },
        { url: 'not a url', events: ['experiment.completed'] },
        { url: `${receiver.url}/x`, events: ['experiment.completed'], secret: 'whsec_mine' },
        { events: ['experiment.completed'] },
      ]) {
        const res = await request(t.http).post(base).set(bearer(owner.token)).send(body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      }
      const after = await t.dataSource.query(`SELECT count(*)::int AS n FROM webhook_subscriptions`);
      expect(after).toEqual(before);
    });

    it('lets only owners manage webhooks: editors and API keys get 403, outsiders 404', async () => {
      const { id } = await subscribe();
      const editor = await registerUser(t.http);
      const outsider = await registerUser(t.http);
      await addMember(t.http, owner, owner.projectId, editor, 'editor');
      const key = await createApiKey(t.http, owner, owner.projectId);
      for (const token of [editor.token, key.key]) {
        await request(t.http)
          .post(`/api/projects/${owner.projectId}/webhooks`)
          .set(bearer(token))
          .send({ url: `${receiver.url}/x`, events: ['experiment.completed'] })
          .expect(403);
        await request(t.http).get(`/api/webhooks/${id}`).set(bearer(token)).expect(403);
      }
      await request(t.http).get(`/api/webhooks/${id}`).set(bearer(outsider.token)).expect(404);
      await request(t.http).delete(`/api/webhooks/${id}`).set(bearer(outsider.token)).expect(404);
      await request(t.http).get(`/api/projects/${owner.projectId}/webhooks`).set(bearer(outsider.token)).expect(404);
      await request(t.http).get(`/api/webhooks/not-a-uuid`).set(bearer(owner.token)).expect(400);
      await request(t.http).get(`/api/webhooks/${id}`).expect(401);
    });

    it('updates and deletes', async () => {
      const { id } = await subscribe();
      const patched = await request(t.http)
        .patch(`/api/webhooks/${id}`)
        .set(bearer(owner.token))
        .send({ events: ['run.completed'], description: null, enabled: false });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ events: ['run.completed'], description: null, enabled: false });
      await request(t.http)
        .patch(`/api/webhooks/${id}`)
        .set(bearer(owner.token))
        .send({ events: ['nope'] })
        .expect(400);
      await request(t.http).delete(`/api/webhooks/${id}`).set(bearer(owner.token)).expect(204);
      await request(t.http).get(`/api/webhooks/${id}`).set(bearer(owner.token)).expect(404);
    });
  });

  describe('delivery', () => {
    it('pings with Standard Webhooks headers whose signature verifies with the secret, and logs the attempt', async () => {
      const { id, secret } = await subscribe();
      const res = await ping(id);
      expect(res.status).toBe(202);
      const eventId = res.body.event_id;
      const [hook] = await waitFor(() => hooksWithId(eventId).length === 1 && hooksWithId(eventId), {
        what: 'the ping',
      });
      expect(hook.path).toBe('/hooks');
      expect(hook.headers['content-type']).toBe('application/json');
      expect(Number(hook.timestamp)).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(hook.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(signatureMatches(hook, secret)).toBe(true);
      expect(new Webhook(secret).verify(hook.raw, hook.headers as Record<string, string>)).toMatchObject({
        type: 'ping',
        data: { webhook_id: id },
      });
      expect(hook.body).toEqual({ type: 'ping', timestamp: expect.any(String), data: expect.any(Object) });

      const entries = await waitFor(async () => {
        const page = await log(id);
        return page.total === 1 && page.items.length === 1 && page;
      });
      expect(entries.items[0]).toMatchObject({
        event_id: eventId,
        event_type: 'ping',
        attempt: 1,
        status_code: 204,
        error: null,
        next_attempt_at: null,
        delivery_status: 'succeeded',
      });
    });

    it('sends custom headers with each delivery, shows only their names, refuses hop-by-hop and signature headers', async () => {
      const token = 'rt_custom_header_value_5b1e9d';
      const created = await subscribe({ headers: { 'X-Receiver-Token': token, 'X-Team': 'evals' } });
      expect(created).toMatchObject({ header_names: ['X-Receiver-Token', 'X-Team'] });
      expect(JSON.stringify(created)).not.toContain(token);
      const [stored] = await t.dataSource.query(`SELECT * FROM webhook_subscriptions WHERE id = $1`, [created.id]);
      expect(JSON.stringify(stored)).not.toContain(token);
      const one = await request(t.http).get(`/api/webhooks/${created.id}`).set(bearer(owner.token)).expect(200);
      expect(one.body.header_names).toEqual(['X-Receiver-Token', 'X-Team']);
      expect(JSON.stringify(one.body)).not.toContain(token);
      const list = await request(t.http).get(`/api/projects/${owner.projectId}/webhooks`).set(bearer(owner.token));
      expect(JSON.stringify(list.body)).not.toContain(token);

      const first = (await ping(created.id).expect(202)).body.event_id;
      const [hook] = await waitFor(() => hooksWithId(first).length === 1 && hooksWithId(first), { what: 'the ping' });
      expect(hook.headers['x-receiver-token']).toBe(token);
      expect(hook.headers['x-team']).toBe('evals');
      expect(signatureMatches(hook, created.secret)).toBe(true);
      const entries = await waitFor(async () => {
        const page = await log(created.id);
        return page.total === 1 && page;
      });
      expect(JSON.stringify(entries)).not.toContain(token);

      const before = await t.dataSource.query(`SELECT count(*)::int AS n FROM webhook_subscriptions`);
      for (const [headers, field] of [
        [{ Connection: 'close' }, 'headers.Connection'],
        [{ 'Transfer-Encoding': 'chunked' }, 'headers.Transfer-Encoding'],
        [{ 'webhook-signature': 'v1,forged' }, 'headers.webhook-signature'],
        [{ 'Webhook-Id': 'msg_1' }, 'headers.Webhook-Id'],
        [{ Host: 'example.com' }, 'headers.Host'],
        [{ 'X-Token': 'line\r\nInjected: yes' }, 'headers.X-Token'],
        [{ 'X-Token': 7 }, 'headers.X-Token'],
        [{ 'bad name': 'x' }, 'bad name'],
        [['X-Token'], 'headers'],
      ] as const) {
        const res = await request(t.http)
          .post(`/api/projects/${owner.projectId}/webhooks`)
          .set(bearer(owner.token))
          .send({ url: `${receiver.url}/x`, events: ['experiment.completed'], headers });
        expect({ headers, status: res.status }).toEqual({ headers, status: 400 });
        expect(JSON.stringify(res.body)).toContain(field);
        expect(JSON.stringify(res.body)).not.toContain('Injected');
        const patch = await request(t.http)
          .patch(`/api/webhooks/${created.id}`)
          .set(bearer(owner.token))
          .send({ headers });
        expect(patch.status).toBe(400);
      }
      expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM webhook_subscriptions`)).toEqual(before);
      const unchanged = await request(t.http).get(`/api/webhooks/${created.id}`).set(bearer(owner.token)).expect(200);
      expect(unchanged.body.header_names).toEqual(['X-Receiver-Token', 'X-Team']);

      const cleared = await request(t.http)
        .patch(`/api/webhooks/${created.id}`)
        .set(bearer(owner.token))
        .send({ headers: null })
        .expect(200);
      expect(cleared.body.header_names).toEqual([]);
      const second = (await ping(created.id).expect(202)).body.event_id;
      const [plain] = await waitFor(() => hooksWithId(second).length === 1 && hooksWithId(second), {
        what: 'the ping',
      });
      expect(plain.headers).not.toHaveProperty('x-receiver-token');
      expect(signatureMatches(plain, created.secret)).toBe(true);
    });

    it('signs with both secrets for 24 hours after a rotation, then with the new one only', async () => {
      const { id, secret: old } = await subscribe();
      const rotated = await request(t.http).post(`/api/webhooks/${id}/rotate-secret`).set(bearer(owner.token));
      expect(rotated.status).toBe(200);
      const fresh = rotated.body.secret as string;
      expect(fresh).toMatch(/^whsec_/);
      expect(fresh).not.toBe(old);
      const expires = new Date(rotated.body.previous_secret_expires_at).getTime();
      expect(Math.abs(expires - Date.now() - 24 * 3600 * 1000)).toBeLessThan(60_000);

      const first = (await ping(id).expect(202)).body.event_id;
      const [hook] = await waitFor(() => hooksWithId(first).length === 1 && hooksWithId(first));
      expect(hook.signature.split(' ')).toHaveLength(2);
      expect(signatureMatches(hook, fresh)).toBe(true);
      expect(signatureMatches(hook, old)).toBe(true);

      await t.dataSource.query(
        `UPDATE webhook_subscriptions SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`,
        [id],
      );
      const second = (await ping(id).expect(202)).body.event_id;
      const [later] = await waitFor(() => hooksWithId(second).length === 1 && hooksWithId(second));
      expect(later.signature.split(' ')).toHaveLength(1);
      expect(signatureMatches(later, fresh)).toBe(true);
      expect(signatureMatches(later, old)).toBe(false);
    });

    it('retries a receiver answering 500 twice: the third attempt carries the same webhook-id, every attempt logged', async () => {
      const { id, secret } = await subscribe();
      receiver.enqueue({ status: 500 }, { status: 500 });
      const eventId = (await ping(id).expect(202)).body.event_id;
      const hooks = await waitFor(() => hooksWithId(eventId).length === 3 && hooksWithId(eventId), {
        what: 'three attempts',
      });
      expect(hooks.every((h) => signatureMatches(h, secret))).toBe(true);
      expect(new Set(hooks.map((h) => h.raw)).size).toBe(1);

      // The log's items and total are two reads: wait until both show the third attempt.
      const page = await waitFor(async () => {
        const p = await log(id);
        return p.total === 3 && p.items.length === 3 && p.items[0].status_code === 204 && p;
      });
      const attempts = [...page.items].reverse();
      expect(attempts.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3]);
      expect(attempts.map((a: { status_code: number }) => a.status_code)).toEqual([500, 500, 204]);
      expect(attempts[0].error).toBe('HTTP 500');
      expect(attempts[0].next_attempt_at).not.toBeNull();
      expect(attempts[2]).toMatchObject({ error: null, next_attempt_at: null, delivery_status: 'succeeded' });
      expect(new Set(attempts.map((a: { delivery_id: string }) => a.delivery_id)).size).toBe(1);
      // The gap before attempt 3 follows the schedule (12 × base = 600 ms), not an immediate resend.
      const gap = new Date(attempts[2].created_at).getTime() - new Date(attempts[1].created_at).getTime();
      expect(gap).toBeGreaterThanOrEqual(550);
      // Success resets the failure count.
      expect(
        (await request(t.http).get(`/api/webhooks/${id}`).set(bearer(owner.token))).body.consecutive_failures,
      ).toBe(0);

      const second = await request(t.http)
        .get(`/api/webhooks/${id}/deliveries?limit=1&offset=1`)
        .set(bearer(owner.token));
      expect(second.body).toMatchObject({ total: 3, items: [{ attempt: 2 }] });
    });

    it('disables a subscription whose receiver answers 410 Gone, without retrying', async () => {
      const { id } = await subscribe();
      receiver.enqueue({ status: 410 });
      const eventId = (await ping(id).expect(202)).body.event_id;
      const webhook = await waitFor(async () => {
        const res = await request(t.http).get(`/api/webhooks/${id}`).set(bearer(owner.token));
        return res.body.enabled === false && res.body;
      });
      expect(webhook).toMatchObject({ enabled: false, disabled_reason: 'the receiver answered 410 Gone' });
      expect(webhook.disabled_at).toEqual(expect.any(String));
      const page = await log(id);
      expect(page.items).toEqual([
        expect.objectContaining({
          event_id: eventId,
          status_code: 410,
          next_attempt_at: null,
          delivery_status: 'failed',
        }),
      ]);
      expect(hooksWithId(eventId)).toHaveLength(1);
      // Disabled: no further events are recorded for it, and redelivery is refused.
      const outbox = (await import('../src/outbox/outbox.writer')).OutboxWriter;
      expect(
        await t.app
          .get(outbox, { strict: false })
          .wanted(t.dataSource.manager, owner.projectId, 'experiment.completed'),
      ).toBe(
        // other enabled subscriptions of this project listen to experiment.completed
        (
          await t.dataSource.query(
            `SELECT count(*)::int AS n FROM webhook_subscriptions WHERE project_id = $1 AND enabled AND 'experiment.completed' = ANY(events)`,
            [owner.projectId],
          )
        )[0].n > 0,
      );
      await request(t.http)
        .post(`/api/webhooks/${id}/deliveries/${page.items[0].id}/redeliver`)
        .set(bearer(owner.token))
        .expect(409);
      // Enabling again clears the reason and the count.
      const enabled = await request(t.http)
        .patch(`/api/webhooks/${id}`)
        .set(bearer(owner.token))
        .send({ enabled: true });
      expect(enabled.body).toMatchObject({ enabled: true, disabled_reason: null, consecutive_failures: 0 });
    });

    it('disables after 20 failed attempts in a row', async () => {
      const { id } = await subscribe();
      await t.dataSource.query(`UPDATE webhook_subscriptions SET consecutive_failures = 19 WHERE id = $1`, [id]);
      receiver.enqueue({ status: 503 });
      await ping(id).expect(202);
      const webhook = await waitFor(async () => {
        const res = await request(t.http).get(`/api/webhooks/${id}`).set(bearer(owner.token));
        return res.body.enabled === false && res.body;
      });
      expect(webhook).toMatchObject({ consecutive_failures: 20, disabled_reason: '20 failed attempts in a row' });
      // The attempt that disabled it ends its delivery: no retry follows.
      const page = await log(id);
      expect(page).toMatchObject({
        total: 1,
        items: [{ status_code: 503, next_attempt_at: null, delivery_status: 'failed' }],
      });
    });

    it('redelivers a delivered event with the same webhook-id', async () => {
      const { id, secret } = await subscribe();
      const eventId = (await ping(id).expect(202)).body.event_id;
      await waitFor(() => hooksWithId(eventId).length === 1);
      const first = await waitFor(async () => {
        const p = await log(id);
        return p.total === 1 && p.items.length === 1 && p.items[0];
      });
      const res = await request(t.http)
        .post(`/api/webhooks/${id}/deliveries/${first.id}/redeliver`)
        .set(bearer(owner.token));
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ delivery_id: first.delivery_id, attempts: 1 });
      const hooks = await waitFor(() => hooksWithId(eventId).length === 2 && hooksWithId(eventId));
      expect(hooks[1].raw).toBe(hooks[0].raw);
      expect(signatureMatches(hooks[1], secret)).toBe(true);
      const page = await waitFor(async () => {
        const p = await log(id);
        return p.total === 2 && p.items.length === 2 && p;
      });
      expect(page.items[0]).toMatchObject({ attempt: 2, delivery_id: first.delivery_id, status_code: 204 });

      const unknown = '00000000-0000-4000-8000-000000000000';
      await request(t.http)
        .post(`/api/webhooks/${id}/deliveries/${unknown}/redeliver`)
        .set(bearer(owner.token))
        .expect(404);
    });

    it('counts no answer within the timeout and a redirect (never followed) as failed attempts', async () => {
      const { id } = await subscribe();
      receiver.enqueue({ hang: true }, { status: 302, headers: { location: `${receiver.url}/elsewhere` } });
      const eventId = (await ping(id).expect(202)).body.event_id;
      await waitFor(() => hooksWithId(eventId).length === 3, { what: 'three attempts' });
      // The log's items and total are two reads: wait until both show the third attempt.
      const page = await waitFor(async () => {
        const p = await log(id);
        return p.total === 3 && p.items.length === 3 && p.items[0].status_code === 204 && p;
      });
      const [a1, a2, a3] = [...page.items].reverse();
      expect(a1).toMatchObject({ status_code: null, error: expect.stringMatching(/no answer within 1000 ms/) });
      expect(a1.duration_ms).toBeGreaterThanOrEqual(990);
      expect(a2).toMatchObject({ status_code: 302, error: expect.stringMatching(/redirects are not followed/) });
      expect(a3).toMatchObject({ status_code: 204 });
      expect(receiver.received.filter((h) => h.path === '/elsewhere')).toHaveLength(0);
    });
  });

  describe('events from the outbox', () => {
    const experimentBody = (inputs: number, latencyMs = 0) => ({
      name: 'webhook events',
      config: {
        prompts: ['Say {{n}}'],
        models: ['mock:echo'],
        params: { mock_latency_ms: latencyMs },
        inputs: Array.from({ length: inputs }, (_, n) => ({ n: String(n) })),
      },
    });

    async function createExperiment(user: TestUser, inputs: number, latencyMs = 0): Promise<string> {
      const res = await request(t.http)
        .post('/api/experiments')
        .set(bearer(user.token))
        .send({ ...experimentBody(inputs, latencyMs), project_id: user.projectId });
      expect(res.status).toBe(201);
      return res.body.id;
    }

    it('sends experiment.launched, one run.completed per run and experiment.completed once, each with its own id', async () => {
      const user = await registerUser(t.http);
      const { secret } = await subscribe(
        { events: ['experiment.launched', 'experiment.completed', 'run.completed', 'run.failed'] },
        user,
      );
      const experimentId = await createExperiment(user, 3);
      await request(t.http)
        .post(`/api/experiments/${experimentId}/launch`)
        .set(bearer(user.token))
        .send({})
        .expect(202);
      const completed = await waitFor(
        () => {
          const hits = receiver.received.filter((h) => h.body?.type === 'experiment.completed');
          return hits.length > 0 && hits;
        },
        { what: 'experiment.completed' },
      );
      await waitFor(() => receiver.received.filter((h) => h.body?.type === 'run.completed').length === 3);
      const mine = receiver.received.filter(
        (h) => h.body?.data?.experiment_id === experimentId || h.body?.data?.id === experimentId,
      );
      expect(mine.every((h) => signatureMatches(h, secret))).toBe(true);
      const types = mine.map((h) => h.body.type).sort();
      expect(types).toEqual([
        'experiment.completed',
        'experiment.launched',
        'run.completed',
        'run.completed',
        'run.completed',
      ]);
      expect(new Set(mine.map((h) => h.id)).size).toBe(5);
      expect(completed).toHaveLength(1);
      expect(completed[0].body.data).toMatchObject({
        id: experimentId,
        project_id: user.projectId,
        status: 'completed',
        progress: { total: 3, completed: 3, pending: 0, running: 0, failed: 0, cancelled: 0 },
      });
      const launched = mine.find((h) => h.body.type === 'experiment.launched');
      expect(launched?.body.data).toMatchObject({ status: 'running', progress: { total: 3, pending: 3 } });
      const run = mine.find((h) => h.body.type === 'run.completed');
      const api = await request(t.http).get(`/api/runs/${run?.body.data.id}`).set(bearer(user.token));
      const { stage_results: _stages, scores: _scores, ...response } = api.body;
      expect(run?.body.data).toEqual(
        Object.fromEntries(Object.keys(run?.body.data ?? {}).map((k) => [k, (response as Record<string, unknown>)[k]])),
      );
      expect(run?.body.data).toMatchObject({ status: 'completed', experiment_id: experimentId });
      // Once per event id, also after the relay and the sweeper ran again.
      const outbox = await t.dataSource.query(
        `SELECT count(*)::int AS n FROM outbox_events WHERE project_id = $1 AND type = 'experiment.completed'`,
        [user.projectId],
      );
      expect(outbox).toEqual([{ n: 1 }]);
    });

    it('sends experiment.cancelled with stop_reason, and nothing for types nobody subscribed to', async () => {
      const user = await registerUser(t.http);
      await subscribe({ events: ['experiment.cancelled'] }, user);
      const experimentId = await createExperiment(user, 5, 2000);
      await request(t.http)
        .post(`/api/experiments/${experimentId}/launch`)
        .set(bearer(user.token))
        .send({})
        .expect(202);
      await request(t.http).post(`/api/experiments/${experimentId}/cancel`).set(bearer(user.token)).expect(202);
      const [hook] = await waitFor(
        async () => {
          const hits = receiver.received.filter((h) => h.body?.data?.id === experimentId);
          if (hits.length > 0) return hits;
          const state = await t.dataSource.query(
            `SELECT e.status, (SELECT json_agg(o.type) FROM outbox_events o WHERE o.project_id = e.project_id) AS events FROM experiments e WHERE e.id = $1`,
            [experimentId],
          );
          throw new Error(JSON.stringify(state));
        },
        { what: 'experiment.cancelled' },
      );
      expect(hook.body).toMatchObject({
        type: 'experiment.cancelled',
        data: { id: experimentId, status: 'cancelled', stop_reason: 'cancelled' },
      });
      await request(t.http).post(`/api/experiments/${experimentId}/cancel`).set(bearer(user.token));
      const rows = await t.dataSource.query(
        `SELECT type FROM outbox_events WHERE project_id = $1 ORDER BY created_at`,
        [user.projectId],
      );
      expect(rows).toEqual([{ type: 'experiment.cancelled' }]);
    });
  });

  describe('retention (WEBHOOK_RETENTION_DAYS, default 30)', () => {
    /** A pinged delivery, once its attempt is logged: its event id, delivery id and attempt rows. */
    async function delivered(id: string): Promise<{ eventId: string; deliveryId: string }> {
      const eventId = (await ping(id).expect(202)).body.event_id as string;
      const item = await waitFor(async () => {
        const p = await log(id);
        return p.items.find((i: { event_id: string; delivery_status?: string }) => i.event_id === eventId) ?? null;
      });
      await waitFor(async () => {
        const [d] = await t.dataSource.query(`SELECT status FROM webhook_deliveries WHERE id = $1`, [item.delivery_id]);
        return d?.status === 'succeeded';
      });
      return { eventId, deliveryId: item.delivery_id };
    }
    const exists = async (table: string, column: string, id: string): Promise<number> =>
      (await t.dataSource.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [id]))[0].n;

    it('deletes finished deliveries with their attempt log and then unreferenced relayed events, keeping recent and pending ones', async () => {
      const { id } = await subscribe();
      const old = await delivered(id);
      const again = await request(t.http)
        .post(`/api/webhooks/${id}/deliveries/${old.deliveryId}/redeliver`)
        .set(bearer(owner.token));
      expect(again.status).toBe(202);
      await waitFor(async () => (await exists('webhook_delivery_attempts', 'delivery_id', old.deliveryId)) === 2);
      const recent = await delivered(id);
      const waiting = await delivered(id);
      // Older than the retention: a finished delivery (two attempts), one still waiting for a retry,
      // and an event nobody was subscribed to.
      await t.dataSource.query(
        `UPDATE webhook_deliveries SET updated_at = now() - interval '31 days' WHERE id = ANY($1::uuid[])`,
        [[old.deliveryId, waiting.deliveryId]],
      );
      await t.dataSource.query(
        `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now() + interval '1 day' WHERE id = $1`,
        [waiting.deliveryId],
      );
      await t.dataSource.query(
        `UPDATE outbox_events SET dispatched_at = now() - interval '31 days', created_at = now() - interval '31 days'
          WHERE id = ANY($1::uuid[])`,
        [[old.eventId, waiting.eventId]],
      );
      const [orphan] = await t.dataSource.query(
        `INSERT INTO outbox_events (project_id, type, body, created_at, dispatched_at)
         VALUES ($1, 'ping', '{}', now() - interval '40 days', now() - interval '40 days') RETURNING id`,
        [owner.projectId],
      );
      // A relayed event of yesterday without deliveries stays: only the retention's age counts.
      const [young] = await t.dataSource.query(
        `INSERT INTO outbox_events (project_id, type, body, dispatched_at)
         VALUES ($1, 'ping', '{}', now() - interval '1 day') RETURNING id`,
        [owner.projectId],
      );

      // The periodic sweeps may have taken part of it already; either way the end state is the same.
      await t.app.get(WebhookSweeper).prune();
      expect({
        oldDelivery: await exists('webhook_deliveries', 'id', old.deliveryId),
        oldAttempts: await exists('webhook_delivery_attempts', 'delivery_id', old.deliveryId),
        oldEvent: await exists('outbox_events', 'id', old.eventId),
        orphan: await exists('outbox_events', 'id', orphan.id),
        recentDelivery: await exists('webhook_deliveries', 'id', recent.deliveryId),
        recentAttempts: await exists('webhook_delivery_attempts', 'delivery_id', recent.deliveryId),
        recentEvent: await exists('outbox_events', 'id', recent.eventId),
        waitingDelivery: await exists('webhook_deliveries', 'id', waiting.deliveryId),
        waitingEvent: await exists('outbox_events', 'id', waiting.eventId),
        young: await exists('outbox_events', 'id', young.id),
      }).toEqual({
        oldDelivery: 0,
        oldAttempts: 0,
        oldEvent: 0,
        orphan: 0,
        recentDelivery: 1,
        recentAttempts: 1,
        recentEvent: 1,
        waitingDelivery: 1,
        waitingEvent: 1,
        young: 1,
      });
      // The delivery log no longer lists the deleted attempts; a second run finds nothing more.
      const page = await log(id);
      expect(page.items.map((i: { delivery_id: string }) => i.delivery_id)).not.toContain(old.deliveryId);
      expect(await t.app.get(WebhookSweeper).prune()).toEqual({ deliveries: 0, attempts: 0, events: 0 });
      await t.dataSource.query(`DELETE FROM outbox_events WHERE id = $1`, [young.id]);
    });
  });

  describe('SSRF policy (ALLOW_PRIVATE_URLS=false)', () => {
    let strict: TestApp;
    let user: TestUser;

    beforeAll(async () => {
      strict = await createTestApp({ env: { ...FAST, ALLOW_PRIVATE_URLS: 'false' } });
      user = await registerUser(strict.http);
    });

    afterAll(async () => {
      await strict?.close();
    });

    it('refuses loopback, private and metadata URLs with 400 at creation and update', async () => {
      for (const url of [
        receiver.url,
        'http://10.1.2.3/hook',
        'http://169.254.169.254/latest',
        'http://localhost:8080/x',
      ]) {
        const res = await request(strict.http)
          .post(`/api/projects/${user.projectId}/webhooks`)
          .set(bearer(user.token))
          .send({ url, events: ['experiment.completed'] });
        expect({ url, status: res.status }).toEqual({ url, status: 400 });
        expect(res.body.message).toEqual([expect.stringMatching(/ALLOW_PRIVATE_URLS/)]);
      }
      const ok = await request(strict.http)
        .post(`/api/projects/${user.projectId}/webhooks`)
        .set(bearer(user.token))
        .send({ url: 'https://93.184.215.14/hook', events: ['experiment.completed'] });
      expect(ok.status).toBe(201);
      await request(strict.http)
        .patch(`/api/webhooks/${ok.body.id}`)
        .set(bearer(user.token))
        .send({ url: 'http://192.168.1.1/' })
        .expect(400);
    });

    it('checks the URL again at delivery time and logs a refused attempt without connecting', async () => {
      const created = await request(strict.http)
        .post(`/api/projects/${user.projectId}/webhooks`)
        .set(bearer(user.token))
        .send({ url: 'https://93.184.215.14/hook', events: ['experiment.completed'] });
      // As if the URL had been stored while private targets were allowed.
      await strict.dataSource.query(`UPDATE webhook_subscriptions SET url = $2 WHERE id = $1`, [
        created.body.id,
        `${receiver.url}/strict`,
      ]);
      await request(strict.http).post(`/api/webhooks/${created.body.id}/test`).set(bearer(user.token)).expect(202);
      const page = await waitFor(async () => {
        const res = await request(strict.http)
          .get(`/api/webhooks/${created.body.id}/deliveries`)
          .set(bearer(user.token));
        return res.body.items.some((a: { attempt: number }) => a.attempt === 1) && res.body;
      });
      // Refused attempts are retried like failed ones (newest first in the log): check the first.
      expect(page.items.find((a: { attempt: number }) => a.attempt === 1)).toMatchObject({
        attempt: 1,
        status_code: null,
        error: expect.stringMatching(/^refused: .*127\.0\.0\.1/),
      });
      expect(receiver.received.filter((h) => h.path === '/strict')).toHaveLength(0);
    });
  });
});
