import { type DataSource } from 'typeorm';
import { type AppConfig } from '../config/configuration';
import { type OutboxRepository } from '../outbox/outbox.repository';
import { type WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookSweeper } from './webhook-sweeper';

/** A sweeper over fakes: deliveries and events left to prune, deleted a page (of up to `limit`) per call. */
function sweeperWith(retentionDays: number, left: { deliveries: number; events: number }) {
  const calls = { deliveries: [] as number[], events: [] as number[] };
  const deliveries = {
    pruneFinished: jest.fn((days: number, limit: number) => {
      calls.deliveries.push(days);
      const n = Math.min(limit, left.deliveries);
      left.deliveries -= n;
      return Promise.resolve({ deliveries: n, attempts: 2 * n });
    }),
    releaseExpired: jest.fn(() => Promise.resolve([])),
    overdue: jest.fn(() => Promise.resolve([])),
  };
  const outbox = {
    pruneDispatched: jest.fn((_manager: unknown, days: number, limit: number) => {
      calls.events.push(days);
      const n = Math.min(limit, left.events);
      left.events -= n;
      return Promise.resolve(n);
    }),
  };
  const config = { webhooks: { retentionDays, pollIntervalMs: 1000 } } as unknown as AppConfig;
  const sweeper = new WebhookSweeper(
    { manager: {} } as unknown as DataSource,
    outbox as unknown as OutboxRepository,
    deliveries as unknown as WebhookDeliveriesRepository,
    { dispatch: jest.fn(), undelivered: jest.fn(() => Promise.resolve([])) },
    config,
    false,
  );
  return { sweeper, calls, left };
}

describe('WebhookSweeper retention', () => {
  it('deletes nothing and asks nothing when WEBHOOK_RETENTION_DAYS is 0', async () => {
    const { sweeper, calls } = sweeperWith(0, { deliveries: 5, events: 5 });
    expect(await sweeper.prune()).toEqual({ deliveries: 0, attempts: 0, events: 0 });
    expect(calls).toEqual({ deliveries: [], events: [] });
  });

  it('works in pages of 1,000 until a short page, deliveries first, with the configured age', async () => {
    const { sweeper, calls, left } = sweeperWith(30, { deliveries: 2500, events: 1000 });
    expect(await sweeper.prune()).toEqual({ deliveries: 2500, attempts: 5000, events: 1000 });
    expect(calls.deliveries).toEqual([30, 30, 30]);
    // A full last page may hide more: one more call finds the end.
    expect(calls.events).toEqual([30, 30]);
    expect(left).toEqual({ deliveries: 0, events: 0 });
  });

  it('stops after 50 pages per run, leaving the rest of a backlog to the next run', async () => {
    const { sweeper, left } = sweeperWith(7, { deliveries: 60_000, events: 0 });
    expect((await sweeper.prune()).deliveries).toBe(50_000);
    expect(left.deliveries).toBe(10_000);
    expect((await sweeper.prune()).deliveries).toBe(10_000);
  });

  it('prunes on the first sweep, then not again within a minute', async () => {
    const { sweeper, left } = sweeperWith(30, { deliveries: 3, events: 1 });
    expect((await sweeper.sweepOnce()).pruned).toEqual({ deliveries: 3, attempts: 6, events: 1 });
    left.deliveries = 4;
    expect((await sweeper.sweepOnce()).pruned).toEqual({ deliveries: 0, attempts: 0, events: 0 });
    expect(left.deliveries).toBe(4);
  });
});
