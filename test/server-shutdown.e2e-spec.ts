import { type ChildProcess, spawn } from 'child_process';
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import request from 'supertest';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { freePort } from './support/free-port';
import { waitFor } from './support/wait';

const ROOT = join(__dirname, '..');
const RUNS = 60;

/**
 * The real server (src/main.ts, embedded mode) as a child in its own process group, as a terminal
 * would run it; SIGINT goes to the whole group, like Ctrl-C.
 */
describe('Ctrl-C on the real server in embedded mode', () => {
  let parent: string;
  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<number | null>;

  beforeAll(() => {
    // A 0700 parent (mkdtemp) also covers the "as root, postgres cannot enter the data directory" case.
    parent = mkdtempSync(join(tmpdir(), 'pl-server-'));
    chmodSync(parent, 0o700);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      process.kill(-(child.pid as number), 'SIGKILL');
      await exited;
    }
    const fallback = /\(data: (\/var\/lib\/promptlooper\/[0-9a-f]+)\/pg\)/.exec(output)?.[1];
    if (fallback) rmSync(fallback, { recursive: true, force: true });
    rmSync(parent, { recursive: true, force: true });
  });

  it('hands the in-flight runs back before PostgreSQL stops, and PostgreSQL stops last', async () => {
    const port = await freePort();
    const env: Record<string, string | undefined> = {
      ...process.env,
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      PROMPTLOOPER_DATA_DIR: join(parent, 'data'),
      LOG_LEVEL: 'log',
      BCRYPT_ROUNDS: '4',
    };
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'SECRETS_KEY']) delete env[name];
    child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join('src', 'main.ts')], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const proc = child;
    exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    await waitFor(() => output.includes('Register: curl') || proc.exitCode !== null, {
      timeoutMs: 180_000,
      intervalMs: 100,
      what: 'the server to start',
    });
    expect(output).toContain(`API docs (Swagger UI): http://127.0.0.1:${port}/docs`);
    const base = `http://127.0.0.1:${port}`;
    const email = `ctrl-c-${Date.now()}@example.com`;
    expect((await request(base).post('/api/auth/register').send({ email, password: 'long-enough-1' })).status).toBe(
      201,
    );
    const login = await request(base).post('/api/auth/login').send({ email, password: 'long-enough-1' });
    const auth = { Authorization: `Bearer ${login.body.access_token}` };
    const created = await request(base)
      .post('/api/experiments')
      .set(auth)
      .send({
        name: 'slow',
        config: {
          prompts: ['{{n}}'],
          models: ['mock:echo'],
          params: { mock_latency_ms: [8000] },
          inputs: Array.from({ length: RUNS }, (_, n) => ({ n: `input ${n}` })),
        },
      });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await request(base).post(`/api/experiments/${id}/launch`).set(auth).send({})).status).toBe(202);
    await waitFor(
      async () => ((await request(base).get(`/api/experiments/${id}`).set(auth)).body.progress?.running ?? 0) > 0,
      { timeoutMs: 30_000, what: 'runs in flight' },
    );

    process.kill(-(proc.pid as number), 'SIGINT');
    const code = await exited;
    expect(code).toBe(0);
    expect(output).not.toMatch(/could not record/);
    expect(output).not.toMatch(/terminating connection due to administrator command/);

    // Open the same cluster again: no run was left `running` (they went back to pending).
    const clusterDir = /\(data: ([^)]+)\)/.exec(output)?.[1] as string;
    expect(clusterDir).toBeDefined();
    const pg = await startEmbeddedPostgres({ dataDir: join(parent, 'data'), port: 0, persistent: true });
    try {
      expect(output).toContain(dirname(clusterDir));
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ status: string; n: number }>(
          'SELECT status, count(*)::int AS n FROM runs WHERE experiment_id = $1 GROUP BY status ORDER BY status',
          [id],
        );
        const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
        expect(byStatus.running).toBeUndefined();
        expect((byStatus.pending ?? 0) + (byStatus.completed ?? 0)).toBe(RUNS);
      } finally {
        await client.end();
      }
    } finally {
      await pg.stop();
    }
  }, 300_000);
});
