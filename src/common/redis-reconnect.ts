/**
 * Wait before the next attempt to reach Redis again (ioredis `retryStrategy`), for every connection
 * of ours: queues (Bull's own default grows to 20 s, leaving the queue idle long after Redis is back)
 * and events. Short and bounded: work resumes within about 2 s of Redis returning.
 */
export function redisReconnectDelayMs(attempt: number): number {
  return Math.min(Math.max(attempt, 1) * 200, 2000);
}
