import { execFile } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';

const ROOT = join(__dirname, '..');

/** `npm run openapi:types -- ARGS` (scripts/openapi.ts), in a child process as CI runs it. */
async function generator(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await promisify(execFile)(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join('scripts', 'openapi.ts'), ...args],
      { cwd: ROOT },
    );
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, stderr: failed.stderr ?? String(error) };
  }
}

/** `redocly lint SPEC --config redocly.yaml --format=stylish`, as a developer runs it. */
async function redoclyLint(spec: string): Promise<{ code: number; output: string }> {
  const bin = join(ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
  const args = [bin, 'lint', spec, '--config', join(ROOT, 'redocly.yaml'), '--format=stylish'];
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? String(error)}` };
  }
}

describe('the CLI client types (src/cli/api-types.ts)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'openapi-types-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Each generation starts the module graph under ts-node: tens of seconds on a busy machine.
  it('equal what npm run openapi:types generates from the current server (built without a database); a stale file fails --check; the spec passes redocly lint', async () => {
    const spec = join(dir, 'openapi.json');
    const types = join(dir, 'api-types.ts');
    const stale = join(dir, 'stale.ts');
    const committed = readFileSync(join(ROOT, 'src', 'cli', 'api-types.ts'), 'utf8');
    writeFileSync(stale, committed.replace('CompareToResultDto', 'Stale'));
    const [written, checked] = await Promise.all([
      generator(['--spec', spec, '--types', types]),
      generator(['--check', '--types', stale]),
    ]);
    expect(written.code).toBe(0);
    const document = JSON.parse(readFileSync(spec, 'utf8'));
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/api/experiments/{id}/compare-to/{baseline_id}', '/api/experiments/{id}/gate']),
    );
    if (readFileSync(types, 'utf8') !== committed) {
      throw new Error('src/cli/api-types.ts is stale: run `npm run openapi:types` and commit it');
    }
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(/is stale: run npm run openapi:types/);

    // `@redocly/cli lint` (recommended rules, redocly.yaml): no error and no warning.
    const lint = await redoclyLint(spec);
    if (lint.code !== 0 || /You have \d+ warnings?/.test(lint.output)) throw new Error(`redocly lint:\n${lint.output}`);
    expect(lint.output).toMatch(/Your API description is valid/);
  }, 300_000);
});
