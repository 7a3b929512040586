/** Seconds a client is told to wait (Retry-After) when a dependency of ours is down. */
export const RETRY_AFTER_SECONDS = 5;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);
const MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /Connection is not established/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /terminating connection due to administrator command/i,
];

/**
 * Whether an error means "PostgreSQL cannot be reached right now" (down, restarting, network),
 * as opposed to a bad query or bad data: the former is a 503 to retry, never a 4xx or a 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (NETWORK_CODES.has(code)) return true;
      // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, cannot connect now).
      if (/^08/.test(code) || /^57P0[123]$/.test(code)) return true;
    }
    if (typeof message === 'string' && MESSAGES.some((m) => m.test(message))) return true;
    const inner = e as { driverError?: unknown; cause?: unknown; errors?: unknown[] };
    // AggregateError (a refused connection to every address of "localhost") lists its causes.
    if (Array.isArray(inner.errors) && inner.errors.some((x) => isDatabaseUnavailable(x))) return true;
    e = inner.driverError ?? inner.cause;
  }
  return false;
}

/** Thrown when authentication cannot be decided because a dependency is down: 503, not 401. */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency} is unavailable`, options);
    this.name = 'DependencyUnavailableError';
  }
}

/**
 * Runs `attempt` until it succeeds, waiting with a capped exponential backoff (0.5 s doubling to
 * `maxDelayMs`) while the database is unavailable, and logging each wait. Any other error is
 * thrown at once; `shouldStop` ends the wait (shutdown) by throwing the last error.
 */
export async function retryWhileDatabaseUnavailable<T>(
  what: string,
  attempt: () => Promise<T>,
  logger: { warn(message: string): void; log(message: string): void },
  options: { maxDelayMs?: number; shouldStop?: () => boolean } = {},
): Promise<T> {
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  let delay = 500;
  for (let tries = 1; ; tries++) {
    try {
      const result = await attempt();
      if (tries > 1) logger.log(`${what}: PostgreSQL is reachable again (attempt ${tries})`);
      return result;
    } catch (error) {
      if (!isDatabaseUnavailable(error) || options.shouldStop?.()) throw error;
      logger.warn(
        `${what}: PostgreSQL is unavailable (${(error as Error).message}); attempt ${tries} failed, retrying in ${delay} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}
