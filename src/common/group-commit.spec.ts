import { GroupCommit } from './group-commit';

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('sends the items submitted in one turn as one batch, and a lone item at once', async () => {
    const batches: number[][] = [];
    const group = new GroupCommit<number, number>(
      (items) => {
        batches.push(items);
        return Promise.resolve(items.map((i) => i * 10));
      },
      { maxRows: 3, maxInFlight: 2 },
    );
    await expect(group.submit(1)).resolves.toBe(10);
    expect(batches).toEqual([[1]]);
    const answers = await Promise.all([2, 3, 4, 5, 6, 7, 8].map((i) => group.submit(i)));
    expect(answers).toEqual([20, 30, 40, 50, 60, 70, 80]);
    // Rows per statement are capped; what waits goes out when a statement finishes.
    expect(batches.slice(1)).toEqual([[2, 3, 4], [5, 6, 7], [8]]);
  });

  it('keeps at most maxInFlight batches running and gathers what arrives meanwhile', async () => {
    const started: { items: string[]; finish: () => void }[] = [];
    const group = new GroupCommit<string, string>(
      (items) =>
        new Promise((resolve) => started.push({ items, finish: () => resolve(items.map((i) => i.toUpperCase())) })),
      { maxRows: 10, maxInFlight: 1 },
    );
    const first = group.submit('a');
    await flush();
    const rest = ['b', 'c', 'd'].map((i) => group.submit(i));
    await flush();
    expect(started.map((s) => s.items)).toEqual([['a']]);
    started[0].finish();
    await expect(first).resolves.toBe('A');
    await flush();
    expect(started.map((s) => s.items)).toEqual([['a'], ['b', 'c', 'd']]);
    started[1].finish();
    await expect(Promise.all(rest)).resolves.toEqual(['B', 'C', 'D']);
  });

  it('retries each item of a failed batch alone: only the bad item fails', async () => {
    const calls: number[][] = [];
    const group = new GroupCommit<number, number>(
      (items) => {
        calls.push(items);
        if (items.includes(13)) return Promise.reject(new Error('unlucky'));
        return Promise.resolve(items.map((i) => i + 1));
      },
      { maxRows: 10, maxInFlight: 2 },
    );
    const results = await Promise.allSettled([1, 13, 2].map((i) => group.submit(i)));
    expect(results).toEqual([
      { status: 'fulfilled', value: 2 },
      { status: 'rejected', reason: new Error('unlucky') },
      { status: 'fulfilled', value: 3 },
    ]);
    expect(calls).toEqual([[1, 13, 2], [1], [13], [2]]);
  });
});
