import { type ChildProcess, spawn } from 'child_process';
import { join } from 'path';
import { TEST_SECRETS_KEY } from './app';
import { waitFor } from './wait';

const ROOT = join(__dirname, '..', '..');

export interface WorkerProcess {
  pid: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL if it is still alive after `timeoutMs`; resolves once it exited. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts `src/worker.ts` in a child process (ts-node, transpile only) with `env` over the current
 * environment, and resolves once it logged that it is ready. Needs DATABASE_URL, JWT_SECRET and
 * REDIS_URL in `env`, like a production worker.
 */
export async function spawnWorker(
  env: Record<string, string>,
  options: { readyTimeoutMs?: number; waitForReady?: boolean } = {},
): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join('src', 'worker.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'log', SECRETS_KEY: TEST_SECRETS_KEY, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const handle: WorkerProcess = {
    pid: child.pid as number,
    output: () => output,
    exited,
    kill: (signal) => {
      if (!gone) child.kill(signal);
    },
    stop: async (timeoutMs = 10_000) => {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
  if (options.waitForReady === false) return handle;
  try {
    const state = await waitFor(() => (/worker \S+ ready in/.test(output) ? 'ready' : gone ? 'exited' : false), {
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      intervalMs: 50,
      what: 'the worker process to be ready',
    });
    if (state === 'exited') throw new Error('the worker process exited before it was ready');
  } catch (error) {
    await handle.stop(1000);
    throw new Error(`${(error as Error).message}\n--- worker output ---\n${output}`, { cause: error });
  }
  return handle;
}
