import { AdaptiveConcurrencyLimiter, type LimiterPermit } from './adaptive-concurrency-limiter';

/** Lets pending promise callbacks run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function takeAll(limiter: AdaptiveConcurrencyLimiter, n: number): Promise<LimiterPermit[]> {
  return Promise.all(Array.from({ length: n }, () => limiter.acquire()));
}

describe('AdaptiveConcurrencyLimiter', () => {
  it('starts at max and queues callers beyond it, first come first served', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ max: 2 });
    const [a, b] = await takeAll(limiter, 2);
    const order: string[] = [];
    const third = limiter.acquire().then((p) => (order.push('third'), p));
    const fourth = limiter.acquire().then((p) => (order.push('fourth'), p));
    await flush();
    expect(limiter.active).toBe(2);
    expect(limiter.waiting).toBe(2);
    expect(order).toEqual([]);
    a.release('success');
    await flush();
    expect(order).toEqual(['third']);
    b.release('success');
    await flush();
    expect(order).toEqual(['third', 'fourth']);
    (await third).release('success');
    (await fourth).release('success');
    expect(limiter.active).toBe(0);
  });

  it('halves on a rate limit down to 1, and then admits only that many', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ max: 8 });
    for (const expected of [4, 2, 1, 1]) {
      const permit = await limiter.acquire();
      permit.release('rate_limit');
      expect(limiter.limit).toBe(expected);
    }
    const first = await limiter.acquire();
    let second = false;
    void limiter.acquire().then(() => (second = true));
    await flush();
    expect(second).toBe(false);
    first.release('success');
    await flush();
    expect(second).toBe(true);
  });

  it('treats a burst of 429s from calls in flight together as one signal', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ max: 16 });
    const permits = await takeAll(limiter, 16);
    for (const p of permits) p.release('rate_limit');
    expect(limiter.limit).toBe(8);
    // A call admitted after the decrease may halve again.
    (await limiter.acquire()).release('rate_limit');
    expect(limiter.limit).toBe(4);
  });

  it('adds one slot after a run of consecutive successes, up to max', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ max: 4, increaseAfter: 3 });
    (await limiter.acquire()).release('rate_limit');
    (await limiter.acquire()).release('rate_limit');
    expect(limiter.limit).toBe(1);
    const succeed = async (n: number) => {
      for (let i = 0; i < n; i++) (await limiter.acquire()).release('success');
    };
    await succeed(2);
    expect(limiter.limit).toBe(1);
    await succeed(1);
    expect(limiter.limit).toBe(2);
    // A failure breaks the run; a neutral outcome (permanent error, cancel) does not.
    await succeed(2);
    (await limiter.acquire()).release('failure');
    await succeed(2);
    expect(limiter.limit).toBe(2);
    (await limiter.acquire()).release('neutral');
    await succeed(1);
    expect(limiter.limit).toBe(3);
    await succeed(30);
    expect(limiter.limit).toBe(4);
  });

  it('wakes waiters when the limit grows', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ max: 2, increaseAfter: 1 });
    (await limiter.acquire()).release('rate_limit');
    expect(limiter.limit).toBe(1);
    const held = await limiter.acquire();
    const waiters = [limiter.acquire(), limiter.acquire()];
    await flush();
    expect(limiter.waiting).toBe(2);
    held.release('success'); // limit 2: both waiters fit
    await flush();
    expect(limiter.waiting).toBe(0);
    expect(limiter.active).toBe(2);
    for (const p of await Promise.all(waiters)) p.release('success');
  });

  it('ignores a second release of the same permit', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ max: 2 });
    const permit = await limiter.acquire();
    await limiter.acquire();
    permit.release('success');
    permit.release('success');
    expect(limiter.active).toBe(1);
  });

  it('removes an aborted waiter and rejects it with the reason', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ max: 1 });
    const held = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    const next = limiter.acquire();
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(limiter.waiting).toBe(1);
    held.release('success');
    await expect(next).resolves.toBeDefined();
    expect(limiter.active).toBe(1);
    await expect(limiter.acquire(controller.signal)).rejects.toThrow('cancelled');
  });
});
