/**
 * The fuzz pass over a running server (not a test): `npm run bench:fuzz`.
 *
 * Reads `/docs-json` from BENCH_URL (default http://localhost:3000), registers a user, creates one
 * experiment (so bodies reach validation on real ids), then sends BENCH_FUZZ_PER_OPERATION malformed
 * requests per operation (default 150; test/support/openapi-fuzz.ts makes them), BENCH_FUZZ_CONCURRENCY
 * at once (default 8), while polling `/api/health` every 100 ms. Prints the status counts, every 5xx,
 * the slowest health answer and, when BENCH_SERVER_PID names the server process, its peak RSS
 * (VmHWM from /proc). Exits 1 on any 5xx or a health answer slower than 1 s.
 *
 *   npm start &   # embedded mode
 *   BENCH_SERVER_PID=$(pgrep -f 'dist/src/main.js' | head -1) npm run bench:fuzz
 */
import { readFileSync } from 'fs';
import { type FuzzCase, fuzzCases, type OpenApiDocument } from '../test/support/openapi-fuzz';

const BASE = (process.env.BENCH_URL ?? 'http://localhost:3000').replace(/\/$/, '');
const PER_OPERATION = Number(process.env.BENCH_FUZZ_PER_OPERATION ?? 150);
const CONCURRENCY = Number(process.env.BENCH_FUZZ_CONCURRENCY ?? 8);
const PID = process.env.BENCH_SERVER_PID;

async function json(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${BASE}${path}`, {
    ...init,
    headers: { 'Content-Type': 'application/json', ...(init.headers ?? {}) },
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

function peakRssMiB(): number | null {
  if (!PID) return null;
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${PID}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : null;
}

async function main(): Promise<void> {
  const doc = (await json('/docs-json')).body as OpenApiDocument;
  const email = `fuzz-${Date.now()}@example.com`;
  const password = 'password-123';
  const reg = await json('/api/auth/register', {
    method: 'POST',
    body: JSON.stringify({ email, password, name: 'Fuzz' }),
  });
  const login = await json('/api/auth/login', { method: 'POST', body: JSON.stringify({ email, password }) });
  const token = (login.body as { access_token: string }).access_token;
  const auth = { Authorization: `Bearer ${token}` };
  const experiment = await json('/api/experiments', {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      name: 'fuzz',
      config: { prompts: ['Hi {{n}}'], models: ['mock:echo'], inputs: [{ n: 1 }] },
    }),
  });
  const known = {
    id: (experiment.body as { id: string }).id,
    projectId: (reg.body as { default_project_id: string }).default_project_id,
  };
  const cases = fuzzCases(doc, PER_OPERATION, known);

  let running = true;
  let maxHealthMs = 0;
  let checks = 0;
  const monitor = (async () => {
    while (running) {
      const started = Date.now();
      await fetch(`${BASE}/api/health`).catch(() => undefined);
      maxHealthMs = Math.max(maxHealthMs, Date.now() - started);
      checks++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();

  const statuses = new Map<number, number>();
  const errors: string[] = [];
  const started = Date.now();
  let next = 0;
  const send = async (c: FuzzCase): Promise<void> => {
    const res = await fetch(`${BASE}${c.url}`, {
      method: c.method.toUpperCase(),
      headers: { ...auth, ...(c.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: typeof c.body === 'string' || c.body === undefined ? c.body : new Uint8Array(c.body),
    });
    const text = await res.text();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500) errors.push(`${c.operation} [${c.kind}] → ${res.status} ${text.slice(0, 200)}`);
  };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cases.length)
        await send(cases[next++]).catch((e: Error) => errors.push(`${cases[next - 1].operation}: ${e.message}`));
    }),
  );
  running = false;
  await monitor;
  console.log(
    `${cases.length} requests in ${Date.now() - started} ms over ${new Set(cases.map((c) => c.operation)).size} operations`,
  );
  console.log(
    `statuses: ${[...statuses.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([s, n]) => `${s}×${n}`)
      .join(' ')}`,
  );
  console.log(`health: slowest ${maxHealthMs} ms over ${checks} checks`);
  const rss = peakRssMiB();
  console.log(`server peak RSS: ${rss === null ? 'unknown (set BENCH_SERVER_PID)' : `${rss} MiB`}`);
  for (const e of errors) console.log(`5xx: ${e}`);
  if (errors.length > 0 || maxHealthMs >= 1000) process.exitCode = 1;
}

void main();
