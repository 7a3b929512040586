/**
 * Starts a suite's resources side by side. Each promise assigns its resource as it starts (e.g.
 * `startRedis().then((r) => (redis = r))`); unlike `Promise.all`, this waits for every one before
 * rethrowing the first failure, so the suite's afterAll finds and closes everything that did start
 * (a missing redis-server must fail the suite, not leave a database and a server holding jest open).
 */
export async function startAll(starts: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
