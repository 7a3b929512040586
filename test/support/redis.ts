import { type ChildProcess, spawn, spawnSync } from 'child_process';
import { freePort } from '../../src/database/free-port';
import { waitFor } from './wait';
import Redis from 'ioredis';

export interface TestRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL) — for "Redis died" tests; `stop()` is the normal teardown. */
  kill(): void;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'redis-server was not found on PATH. The queue (Bull) suites need a real Redis: on Debian/Ubuntu run ' +
  '`apt-get install -y redis-server` (or set TEST_REDIS_BIN to its path).';

/**
 * Starts a private redis-server on a free loopback port (or `port`, to bring a stopped one back
 * where its clients reconnect) with no persistence. Never skips.
 */
export async function startRedis(options: { port?: number } = {}): Promise<TestRedis> {
  const bin = process.env.TEST_REDIS_BIN ?? 'redis-server';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(INSTALL_HINT);
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined); // refused while the server starts: the poll retries
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    },
    { timeoutMs: 10_000, what: `redis-server on port ${port}` },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    port,
    kill: () => {
      child.kill('SIGKILL');
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
