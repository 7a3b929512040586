/**
 * End-to-end execution throughput over HTTP (not a test): `npm run bench:e2e`.
 *
 * Builds the server, then for each concurrency starts the real server (`node dist/src/main.js`,
 * embedded mode, its own PostgreSQL in a temporary data directory) and an OpenAI-compatible mock in
 * a separate process that answers every call after BENCH_LATENCY_MS. It registers, creates an
 * experiment of BENCH_PROMPTS prompts × BENCH_INPUTS inputs on `openai:gpt-4o-mini` (served by the
 * mock), and times from the launch request to the moment every run has ended (polling the
 * experiment's progress every 20 ms). The floor is runs × latency ÷ concurrency: no engine can beat
 * it, so `wall ÷ floor` is the engine's overhead (1.00 = none). Each repetition uses fresh inputs, so
 * there are no cache hits.
 *
 * Environment: BENCH_CONCURRENCIES (default `32,4`), BENCH_LATENCY_MS (100), BENCH_PROMPTS (2),
 * BENCH_INPUTS (500), BENCH_REPEAT (3, median printed), BENCH_PROVIDER_CONCURRENCY (unset: the
 * server's default), BENCH_SKIP_BUILD=1 to reuse an existing dist/.
 */
import { type ChildProcess, execFileSync, spawn } from 'child_process';
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort } from '../src/database/free-port';

const ROOT = join(__dirname, '..');
const CONCURRENCIES = (process.env.BENCH_CONCURRENCIES ?? '32,4').split(',').map(Number);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 100);
const PROMPTS = Number(process.env.BENCH_PROMPTS ?? 2);
const INPUTS = Number(process.env.BENCH_INPUTS ?? 500);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const RUNS = PROMPTS * INPUTS;

const log = (msg: string): void => console.log(`[bench:e2e] ${msg}`);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

interface Child {
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

function start(command: string, args: string[], env: Record<string, string>, ready: RegExp | null): Promise<Child> {
  const proc = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  if (!ready) {
    const collect = (chunk: Buffer): void => void (output += chunk.toString());
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    return Promise.resolve({ proc, output: () => output, stop });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} not ready in 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve({ proc, output: () => output, stop });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

async function waitForHealth(base: string, server: Child): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (server.proc.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
    const ok = await fetch(`${base}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not healthy in 120 s:\n${server.output()}`);
}

async function api<T>(base: string, method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(`${base}/api${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

interface Progress {
  total: number;
  pending: number;
  running: number;
}

async function measureOnce(base: string, token: string, rep: number): Promise<number> {
  const prompts = Array.from({ length: PROMPTS }, (_, p) => `Variant ${p}: answer {{q}}`);
  const inputs = Array.from({ length: INPUTS }, (_, i) => ({ q: `question ${rep}-${i}-${Date.now()}` }));
  const experiment = await api<{ id: string }>(
    base,
    'POST',
    '/experiments',
    {
      name: `bench-e2e-${rep}`,
      config: { prompts, models: ['openai:gpt-4o-mini'], params: { max_tokens: 16 }, inputs },
    },
    token,
  );
  const t0 = performance.now();
  await api(base, 'POST', `/experiments/${experiment.id}/launch`, { max_runs: RUNS }, token);
  for (;;) {
    const e = await api<{ progress: Progress; status: string }>(
      base,
      'GET',
      `/experiments/${experiment.id}`,
      undefined,
      token,
    );
    if (e.progress.total === RUNS && e.progress.pending === 0 && e.progress.running === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  if (process.env.BENCH_SKIP_BUILD !== '1') {
    log('building (nest build)…');
    execFileSync('npx', ['nest', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  const mock = await start(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join('bench', 'support', 'latency-mock.ts')],
    { BENCH_MOCK_LATENCY_MS: String(LATENCY_MS) },
    /listening http/,
  );
  const mockUrl = /listening (\S+)/.exec(mock.output())![1];
  log(`mock OpenAI-compatible server at ${mockUrl}, ${LATENCY_MS} ms per call`);
  const rows: string[] = [];
  try {
    for (const concurrency of CONCURRENCIES) {
      const dataDir = mkdtempSync(join(tmpdir(), 'pl-bench-e2e-'));
      // As root, embedded PostgreSQL runs as the `postgres` user, which must traverse the directory.
      chmodSync(dataDir, 0o755);
      const port = await freePort();
      const env: Record<string, string> = {
        PORT: String(port),
        HOST: '127.0.0.1',
        PROMPTLOOPER_DATA_DIR: dataDir,
        OPENAI_BASE_URL: mockUrl,
        OPENAI_API_KEY: 'bench-key',
        WORKER_CONCURRENCY: String(concurrency),
        LOG_LEVEL: 'warn',
        AUTH_THROTTLE_LIMIT: '1000',
      };
      if (process.env.BENCH_PROVIDER_CONCURRENCY) env.PROVIDER_CONCURRENCY = process.env.BENCH_PROVIDER_CONCURRENCY;
      // Readiness is the health route answering, whatever the log format or level says.
      const server = await start(process.execPath, [join('dist', 'src', 'main.js')], env, null);
      const base = `http://127.0.0.1:${port}`;
      try {
        await waitForHealth(base, server);
        const email = `bench-${Date.now()}@example.com`;
        await api(base, 'POST', '/auth/register', { email, password: 'bench-password' });
        const { access_token } = await api<{ access_token: string }>(base, 'POST', '/auth/login', {
          email,
          password: 'bench-password',
        });
        const floor = (RUNS * LATENCY_MS) / 1000 / concurrency;
        const walls: number[] = [];
        for (let rep = 0; rep < REPEAT; rep++) {
          const wall = await measureOnce(base, access_token, rep);
          walls.push(wall);
          log(
            `concurrency ${concurrency}, rep ${rep + 1}/${REPEAT}: ${wall.toFixed(2)} s (floor ${floor.toFixed(2)} s)`,
          );
        }
        const m = median(walls);
        rows.push(
          `| ${RUNS} runs, ${LATENCY_MS} ms, concurrency ${concurrency} | ${m.toFixed(2)} s | ${floor.toFixed(2)} s | ${(m / floor).toFixed(2)}× | ${(RUNS / m).toFixed(0)} |`,
        );
      } finally {
        await server.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  } finally {
    await mock.stop();
  }
  console.log('\n| case | wall (median) | floor | wall ÷ floor | runs/s |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
