import { ConfigValidationError, loadConfig } from './configuration';

const SECRETS_KEY = Buffer.alloc(32, 7).toString('base64');

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
    const c = loadConfig({ DATABASE_URL: 'postgres://u:p@db/x', JWT_SECRET: 'a-long-enough-secret', SECRETS_KEY });
    expect(c.jwtSecret).toBe('a-long-enough-secret');
  });

  it('requires a 32-byte base64 SECRETS_KEY in distributed mode, generated in embedded mode', () => {
    const distributed = { DATABASE_URL: 'postgres://u:p@db/x', JWT_SECRET: 'a-long-enough-secret' };
    expect(() => loadConfig(distributed)).toThrow(/"SECRETS_KEY" is required when DATABASE_URL is set/);
    expect(() => loadConfig({ ...distributed, SECRETS_KEY: Buffer.alloc(16).toString('base64') })).toThrow(
      /"SECRETS_KEY" must be 32 bytes, base64-encoded/,
    );
    expect(() => loadConfig({ ...distributed, SECRETS_KEY: 'not base64 at all!' })).toThrow(/"SECRETS_KEY"/);
    expect(loadConfig({ ...distributed, SECRETS_KEY }).secretsKey).toBe(SECRETS_KEY);
    expect(loadConfig({}).secretsKey).toBeNull();
  });

  it('allows private URLs by default only in embedded mode', () => {
    const distributed = { DATABASE_URL: 'postgres://u:p@db/x', JWT_SECRET: 'a-long-enough-secret', SECRETS_KEY };
    expect(loadConfig({}).allowPrivateUrls).toBe(true);
    expect(loadConfig(distributed).allowPrivateUrls).toBe(false);
    expect(loadConfig({ ...distributed, ALLOW_PRIVATE_URLS: 'true' }).allowPrivateUrls).toBe(true);
    expect(loadConfig({ ALLOW_PRIVATE_URLS: 'false' }).allowPrivateUrls).toBe(false);
    expect(() => loadConfig({ ALLOW_PRIVATE_URLS: 'maybe' })).toThrow(/"ALLOW_PRIVATE_URLS" must be a boolean/);
  });

  it('parses price overrides', () => {
    const c = loadConfig({ MODEL_PRICES: '{"openai:my-model": {"input": 1.5, "output": 2}}' });
    expect(c.providers.priceOverrides).toEqual({ 'openai:my-model': { input: 1.5, output: 2 } });
  });

  it('opens registration by default in embedded mode only, and validates CORS_ORIGINS', () => {
    const distributed = { DATABASE_URL: 'postgres://u:p@db/x', JWT_SECRET: 'a-long-enough-secret', SECRETS_KEY };
    expect(loadConfig({}).allowRegistration).toBe(true);
    expect(loadConfig(distributed).allowRegistration).toBe(false);
    expect(loadConfig({ ...distributed, ALLOW_REGISTRATION: 'true' }).allowRegistration).toBe(true);
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example.com, http://localhost:5173' }).corsOrigins).toEqual([
      'https://a.example.com',
      'http://localhost:5173',
    ]);
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/"CORS_ORIGINS" must be a comma list of origins/);
  });

  it('takes LOG_FORMAT json or text, defaulting to json when stdout is not a terminal', () => {
    expect(loadConfig({ LOG_FORMAT: 'text' }).logFormat).toBe('text');
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({}).logFormat).toBe(process.stdout.isTTY ? 'text' : 'json');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/"LOG_FORMAT" must be one of \[json, text\]/);
  });
});
