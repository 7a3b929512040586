import { GroupBatcher } from './group-batcher';

describe('GroupBatcher', () => {
  it('flushes items submitted together in one batch, and those submitted during a flush in the next', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new GroupBatcher<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items.map((i) => i * 10);
    }, 100);
    const first = [1, 2, 3].map((i) => batcher.submit(i));
    await new Promise((resolve) => setImmediate(resolve));
    const second = [4, 5].map((i) => batcher.submit(i));
    release();
    expect(await Promise.all([...first, ...second])).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('caps a batch at maxBatch and rejects every caller of a failed flush', async () => {
    const sizes: number[] = [];
    const batcher = new GroupBatcher<number, number>((items) => {
      sizes.push(items.length);
      return items.includes(3) ? Promise.reject(new Error('boom')) : Promise.resolve(items);
    }, 2);
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => batcher.submit(i)));
    expect(sizes).toEqual([2, 2, 1]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
  });
});
