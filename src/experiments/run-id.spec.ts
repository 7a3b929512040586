import { RunIdGenerator } from './run-id';

describe('RunIdGenerator', () => {
  it('makes valid, unique UUIDv7 ids that sort in generation order', () => {
    const gen = new RunIdGenerator(Date.UTC(2026, 0, 1));
    const ids = Array.from({ length: 300_000 }, () => gen.next());
    for (const id of ids.slice(0, 1000))
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0].replace(/-/g, '').slice(0, 12)).toBe(Date.UTC(2026, 0, 1).toString(16).padStart(12, '0'));
  });

  it('orders a later launch after an earlier one', () => {
    const a = new RunIdGenerator(1_000_000);
    const b = new RunIdGenerator(1_000_001);
    for (let i = 0; i < 10; i++) a.next();
    expect(b.next() > a.next()).toBe(true);
  });
});
