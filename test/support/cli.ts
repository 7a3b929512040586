import { execFile, spawn } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { promisify } from 'util';

const ROOT = join(__dirname, '..', '..');
const OUT_DIR = join(ROOT, '.test-data', `cli-build-${process.pid}`);

/**
 * The `promptlooper` binary as package.json's `bin` names it (dist/…), compiled from src/cli by
 * tsc into a private directory with the same layout (so `npm run build` is not needed first and
 * no other suite's dist/ is touched). Returns the path of the entry file.
 */
export async function buildCli(): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const bin = pkg.bin.promptlooper;
  if (!bin.startsWith('dist/')) throw new Error(`unexpected bin ${bin}`);
  await promisify(execFile)(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.cli.json', '--outDir', OUT_DIR],
    {
      cwd: ROOT,
    },
  );
  return join(OUT_DIR, bin.slice('dist/'.length));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the binary in a child process with `env` over a clean environment (no PROMPTLOOPER_* inherited). */
export function runCli(bin: string, args: string[], env: Record<string, string>, cwd = ROOT): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PROMPTLOOPER_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export const CLI_BUILD_DIR = OUT_DIR;
