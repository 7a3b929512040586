import { type Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { redisReconnectDelayMs } from '../common/redis-reconnect';

/**
 * An ioredis client that logs a connection problem once (not on every reconnect attempt) and
 * fails commands after a few reconnects instead of queueing them forever.
 */
export function createRedisClient(url: string, logger: Logger, role: string): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: 2,
    connectionName: `promptlooper-${role}`,
    retryStrategy: redisReconnectDelayMs,
  });
  let failing = false;
  client.on('error', (error: Error) => {
    if (failing) return;
    failing = true;
    logger.warn(`redis ${role}: ${error.message} (reconnecting)`);
  });
  client.on('ready', () => {
    if (failing) logger.log(`redis ${role}: connected again`);
    failing = false;
  });
  return client;
}

/** QUIT politely, but never wait more than `timeoutMs` for a server that is gone. */
export async function closeRedisClient(client: Redis, timeoutMs = 1000): Promise<void> {
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  await Promise.race([
    client.quit().then(
      () => undefined,
      () => undefined,
    ),
    timeout,
  ]);
  clearTimeout(timer);
  client.disconnect();
}
