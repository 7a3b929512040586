import { ConfigValidationError, loadConfig } from './configuration';

describe('loadConfig', () => {
  it('applies defaults: embedded mode, inline execution, port 3000, concurrency 32', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      databaseUrl: null,
      redisUrl: null,
      jwtSecret: null,
      workerConcurrency: 32,
      dataDir: './.promptlooper',
    });
  });

  it('names the bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigValidationError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/"PORT" must be a number/);
    expect(() => loadConfig({ WORKER_CONCURRENCY: '0' })).toThrow(/"WORKER_CONCURRENCY"/);
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(/"REDIS_URL"/);
    expect(() => loadConfig({ MODEL_PRICES: '{"openai:x": {"input": -1, "output": 1}}' })).toThrow(
      /"MODEL_PRICES" is invalid/,
    );
    expect(() => loadConfig({ MODEL_PRICES: 'nope' })).toThrow(/"MODEL_PRICES" must be a JSON object/);
  });

  it('requires JWT_SECRET in distributed mode and has no built-in secret', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u:p@db/x' })).toThrow(/"JWT_SECRET" is required/);
    const c = loadConfig({ DATABASE_URL: 'postgres://u:p@db/x', JWT_SECRET: 'a-long-enough-secret' });
    expect(c.jwtSecret).toBe('a-long-enough-secret');
  });

  it('parses price overrides', () => {
    const c = loadConfig({ MODEL_PRICES: '{"openai:my-model": {"input": 1.5, "output": 2}}' });
    expect(c.providers.priceOverrides).toEqual({ 'openai:my-model': { input: 1.5, output: 2 } });
  });
});
