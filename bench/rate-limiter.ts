/**
 * Overhead of the shared rate limiter per provider call at 1,000 calls/s: the time
 * SharedRateLimits.acquireCall + chargeTokens add to a call, in-process (embedded mode) and on a
 * real Redis (distributed mode), next to a baseline of the same loop without the limiter.
 * `npm run bench:rate-limiter` (BENCH_CALLS, BENCH_RATE, BENCH_REPEAT).
 */
import { loadConfig } from '../src/config/configuration';
import { SharedRateLimits } from '../src/providers/shared-rate-limits';
import { startRedis } from '../test/support/redis';

const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 5));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Issues CALLS calls at RATE per second (open loop); returns the mean µs each call spent in `work`. */
async function paced(work: (i: number) => Promise<void>): Promise<number> {
  const interval = 1000 / RATE;
  const start = performance.now();
  let spent = 0;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < CALLS; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      (async () => {
        const t0 = performance.now();
        await work(i);
        spent += performance.now() - t0;
      })(),
    );
  }
  await Promise.all(pending);
  return (spent / CALLS) * 1000;
}

async function measure(limits: SharedRateLimits | null, tag: string): Promise<number[]> {
  const results: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    // Limits far above the offered load: this measures the limiter's cost, not its waiting.
    const key = `bench:${tag}:${r}`;
    results.push(
      await paced(async () => {
        if (!limits) return;
        await limits.acquireCall(key, 10_000_000);
        await limits.awaitTokens(key, 2_000_000_000);
        await limits.chargeTokens(key, 2_000_000_000, 100);
      }),
    );
  }
  return results;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const memory = new SharedRateLimits(loadConfig({}));
  const shared = new SharedRateLimits(loadConfig({ REDIS_URL: redis.url }));
  try {
    await measure(shared, 'warmup');
    const baseline = await measure(null, 'none');
    const inProcess = await measure(memory, 'memory');
    const onRedis = await measure(shared, 'redis');
    const row = (name: string, xs: number[]) =>
      console.log(
        `${name.padEnd(28)} median ${median(xs).toFixed(1).padStart(8)} µs/call   runs: ${xs.map((x) => x.toFixed(1)).join(', ')}`,
      );
    console.log(`${CALLS} calls at ${RATE}/s, ${REPEAT} runs each (rpm + tpm check + token charge per call)`);
    row('baseline (no limiter)', baseline);
    row('in-process (embedded)', inProcess);
    row('Redis (distributed)', onRedis);
  } finally {
    await shared.onModuleDestroy();
    await redis.stop();
  }
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
