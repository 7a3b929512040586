import { DataSource } from 'typeorm';
import { OutboxWriter } from '../src/outbox/outbox.writer';
import { typeOrmOptions } from '../src/database/typeorm-options';
import { TEST_JWT_SECRET } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { insertProject } from './support/factories';
import { startRedis, type TestRedis } from './support/redis';
import { waitFor } from './support/wait';
import { attemptsOf, insertSubscription } from './support/webhook-fixtures';
import { signatureMatches, startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';
import { spawnWorker, type WorkerProcess } from './support/worker-process';

// Child workers start through ts-node, and a dead sender's claim must expire: longer than jest's default.
jest.setTimeout(240_000);

/** A 1.5 s timeout gives a 4 s claim; frequent polls and sweeps. */
const FAST = {
  WEBHOOK_TIMEOUT_MS: '1500',
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_POLL_INTERVAL_MS: '100',
  ALLOW_PRIVATE_URLS: 'true',
};

describe('webhook delivery under failure (distributed: Bull queue, worker processes)', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let receiver: WebhookReceiver;
  let ds: DataSource;
  let projectId: string;
  const children: WorkerProcess[] = [];

  async function worker(): Promise<WorkerProcess> {
    const child = await spawnWorker(
      { ...FAST, REDIS_URL: redis.url, DATABASE_URL: database.url, JWT_SECRET: TEST_JWT_SECRET },
      { readyTimeoutMs: 150_000 },
    );
    children.push(child);
    return child;
  }

  /** An event as a module appends it inside its own transaction. */
  async function appendPing(subscriptionId: string): Promise<string> {
    const writer = new OutboxWriter();
    const id = await ds.transaction((manager) =>
      writer.append(manager, projectId, 'ping', { webhook_id: subscriptionId }, { subscriptionId }),
    );
    if (!id) throw new Error('the event was not written');
    return id;
  }

  beforeAll(async () => {
    [database, redis, receiver] = await Promise.all([createTestDatabase(), startRedis(), startWebhookReceiver()]);
    ds = new DataSource(typeOrmOptions(database.url, { extra: { max: 4 } }));
    await ds.initialize();
    projectId = await insertProject(ds);
  });

  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.stop()));
    receiver.reset();
  });

  afterAll(async () => {
    await ds?.destroy();
    await receiver?.close();
    await redis?.stop();
    await database?.drop();
  });

  it('delivers an event committed while no worker ran, once one starts', async () => {
    const { id, secret } = await insertSubscription(ds, projectId, `${receiver.url}/late`, ['experiment.completed']);
    const eventId = await appendPing(id);
    await worker();
    const [hook] = await waitFor(() => receiver.received.length > 0 && receiver.received, { what: 'the delivery' });
    expect(hook.id).toBe(eventId);
    expect(signatureMatches(hook, secret)).toBe(true);
    await waitFor(async () => (await attemptsOf(ds, id))[0]?.delivery_status === 'succeeded');
  });

  it('delivers, with the same webhook-id, an event whose worker was killed (SIGKILL) mid-delivery', async () => {
    const { id, secret } = await insertSubscription(ds, projectId, `${receiver.url}/killed`, ['experiment.completed']);
    receiver.enqueue({ hang: true });
    const doomed = await worker();
    const eventId = await appendPing(id);
    await waitFor(() => receiver.received.length === 1, { what: 'the first attempt to reach the receiver' });
    doomed.kill('SIGKILL');
    await doomed.exited;

    await worker();
    const hooks = await waitFor(() => receiver.received.length === 2 && receiver.received, {
      timeoutMs: 30_000,
      what: 'the delivery to be sent again by the surviving worker',
    });
    expect(hooks.map((h) => h.id)).toEqual([eventId, eventId]);
    expect(hooks[1].raw).toBe(hooks[0].raw);
    expect(signatureMatches(hooks[1], secret)).toBe(true);
    const attempts = await waitFor(async () => {
      const rows = await attemptsOf(ds, id);
      return rows.length === 2 && rows[1].status_code === 204 && rows;
    });
    expect(attempts[0]).toMatchObject({ attempt: 1, status_code: null, error: expect.stringMatching(/^interrupted/) });
    expect(attempts[1]).toMatchObject({ attempt: 2, status_code: 204, delivery_status: 'succeeded' });
  });
});
