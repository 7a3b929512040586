import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { bearer, registerUser, type TestUser } from './support/factories';
import { waitFor } from './support/wait';
import { signatureMatches, startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';
import { startAll } from './support/start-all';

jest.setTimeout(120_000);

/** Fast polling and retries; the receiver listens on 127.0.0.1. */
const FAST = {
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_POLL_INTERVAL_MS: '100',
  ALLOW_PRIVATE_URLS: 'true',
};

describe('dataset.version_created and prompt.label_moved webhooks (e2e)', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let owner: TestUser;
  let secret: string;

  beforeAll(async () => {
    await startAll([
      createTestApp({ env: FAST }).then((a) => (t = a)),
      startWebhookReceiver().then((r) => (receiver = r)),
    ]);
    owner = await registerUser(t.http);
    const sub = await request(t.http)
      .post(`/api/projects/${owner.projectId}/webhooks`)
      .set(bearer(owner.token))
      .send({ url: `${receiver.url}/hooks`, events: ['dataset.version_created', 'prompt.label_moved'] })
      .expect(201);
    secret = sub.body.secret;
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  const received = (type: string) => receiver.received.filter((h) => h.body?.type === type);

  it('delivers dataset.version_created with the version as the API returns it; a failed upload sends nothing', async () => {
    const dataset = await request(t.http)
      .post(`/api/projects/${owner.projectId}/datasets`)
      .set(bearer(owner.token))
      .send({ name: 'tickets' })
      .expect(201);
    const failed = await request(t.http)
      .post(`/api/datasets/${dataset.body.id}/versions`)
      .set(bearer(owner.token))
      .set('Content-Type', 'application/x-ndjson')
      .send('{"id":"a"}\nnot json\n');
    expect(failed.status).toBe(400);
    const uploaded = await request(t.http)
      .post(`/api/datasets/${dataset.body.id}/versions`)
      .set(bearer(owner.token))
      .set('Content-Type', 'application/x-ndjson')
      .send('{"id":"a","q":1}\n{"id":"b","q":2}\n')
      .expect(201);
    const [hook] = await waitFor(
      () => (received('dataset.version_created').length > 0 ? received('dataset.version_created') : null),
      {
        what: 'dataset.version_created delivered',
      },
    );
    expect(hook.body.data).toEqual(uploaded.body);
    expect(hook.body.data).toMatchObject({ dataset_id: dataset.body.id, version: 1, item_count: 2 });
    expect(signatureMatches(hook, secret)).toBe(true);
    // The failed upload rolled back its event with its version: exactly one outbox row for the dataset.
    const rows = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM outbox_events WHERE type = 'dataset.version_created'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('delivers prompt.label_moved with the previous version', async () => {
    const prompt = await request(t.http)
      .post(`/api/projects/${owner.projectId}/prompts`)
      .set(bearer(owner.token))
      .send({ name: 'summarise' })
      .expect(201);
    for (const template of ['v1 {{q}}', 'v2 {{q}}']) {
      await request(t.http)
        .post(`/api/prompts/${prompt.body.id}/versions`)
        .set(bearer(owner.token))
        .send({ template })
        .expect(201);
    }
    const label = (version: number) =>
      request(t.http)
        .put(`/api/prompts/${prompt.body.id}/labels/production`)
        .set(bearer(owner.token))
        .send({ version });
    expect((await label(1)).status).toBe(200);
    expect((await label(2)).body).toEqual({ label: 'production', version: 2, previous_version: 1 });
    expect((await label(9)).status).toBe(400);
    const hooks = await waitFor(
      () => (received('prompt.label_moved').length >= 2 ? received('prompt.label_moved') : null),
      {
        what: 'two prompt.label_moved delivered',
      },
    );
    const data = hooks.map((h) => h.body.data).sort((a, b) => a.version - b.version);
    expect(data).toEqual([
      { prompt_id: prompt.body.id, name: 'summarise', label: 'production', version: 1, previous_version: null },
      { prompt_id: prompt.body.id, name: 'summarise', label: 'production', version: 2, previous_version: 1 },
    ]);
    const rows = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM outbox_events WHERE type = 'prompt.label_moved'`,
    );
    expect(rows[0].n).toBe(2);
  });
});
