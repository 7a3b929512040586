import { TEST_JWT_SECRET } from './app';
import { createTestDatabase, type TestDatabase } from './database';
import { createExecutionContext, type ExecutionContext } from './execution-context';
import { insertProject } from './factories';
import { type FakeLlmServer, startFakeLlmServer } from './fake-llm-server';
import { startRedis, type TestRedis } from './redis';
import { startAll } from './start-all';
import { spawnWorker, type WorkerProcess } from './worker-process';

/**
 * The process harness of the fault suites: one database, fake provider and Redis per suite; Nest
 * execution contexts (API or worker role) in the jest process; worker child processes (src/worker.ts)
 * to SIGKILL or SIGTERM. The first context (the API one, made in beforeAll) lives for the whole
 * suite; every other context and every child belongs to one test and is closed after it.
 */
export interface FaultHarness {
  readonly database: TestDatabase;
  readonly fake: FakeLlmServer;
  readonly redis: TestRedis;
  /** REDIS_URL, the fake provider, the suite's extra variables: what every context and child gets. */
  readonly env: Record<string, string>;
  /** The project the suite's rows belong to (inserted in beforeAll). */
  readonly projectId: string;
  /** The API-side context of the suite. */
  api(): ExecutionContext;
  context(
    role: 'api' | 'worker',
    extra?: Record<string, string>,
    options?: { sweep?: boolean; consume?: boolean },
  ): Promise<ExecutionContext>;
  /** A child worker process, ready (its start compiles the worker with ts-node: slow on a loaded machine). */
  worker(extra?: Record<string, string>, readyTimeoutMs?: number): Promise<WorkerProcess>;
  /** Stops tracking a child that exited (it needs no stop after the test). */
  forget(child: WorkerProcess): void;
}

export interface FaultHarnessOptions {
  /** Variables of every context and child besides REDIS_URL and the fake provider's (e.g. short leases). */
  env: Record<string, string>;
  /** The contexts' sweeper default (a test's own option wins). */
  sweep?: boolean;
  /** The children's readiness deadline when a test names none. */
  workerReadyTimeoutMs?: number;
}

/** Registers beforeAll / afterEach / afterAll in the calling describe block and returns the harness. */
export function useFaultHarness(options: FaultHarnessOptions): FaultHarness {
  let database: TestDatabase;
  let fake: FakeLlmServer;
  let redis: TestRedis;
  let env: Record<string, string>;
  let projectId: string;
  const contexts: ExecutionContext[] = [];
  const children: WorkerProcess[] = [];

  const harness: FaultHarness = {
    get database() {
      return database;
    },
    get fake() {
      return fake;
    },
    get redis() {
      return redis;
    },
    get env() {
      return env;
    },
    get projectId() {
      return projectId;
    },
    api: () => contexts[0],
    context: async (role, extra = {}, contextOptions = {}) => {
      const ctx = await createExecutionContext({
        database,
        role,
        env: { ...env, ...extra },
        ...(options.sweep === undefined ? {} : { sweep: options.sweep }),
        ...contextOptions,
      });
      contexts.push(ctx);
      return ctx;
    },
    worker: async (extra = {}, readyTimeoutMs = options.workerReadyTimeoutMs) => {
      const child = await spawnWorker(
        { ...env, ...extra, DATABASE_URL: database.url, JWT_SECRET: TEST_JWT_SECRET },
        { readyTimeoutMs },
      );
      children.push(child);
      return child;
    },
    forget: (child) => {
      const at = children.indexOf(child);
      if (at >= 0) children.splice(at, 1);
    },
  };

  beforeAll(async () => {
    await startAll([
      createTestDatabase().then((d) => (database = d)),
      startFakeLlmServer().then((f) => (fake = f)),
      startRedis().then((r) => (redis = r)),
    ]);
    env = { REDIS_URL: redis.url, OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-test', ...options.env };
    const admin = await harness.context('api');
    projectId = await insertProject(admin.dataSource);
  });

  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.stop()));
    // The API-side context of beforeAll stays; the rest belong to one test.
    await Promise.all(contexts.splice(1).map((c) => c.close()));
    fake.reset();
  });

  afterAll(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    await fake?.close();
    await redis?.stop();
    await database?.drop();
  });

  return harness;
}
