import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

// Plain CommonJS: it runs before anything is compiled.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const start = require('../scripts/start.js') as {
  buildReason(root: string): string | null;
  stamp(root: string): void;
};

describe('npm start builds only when the sources changed', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pl-start-'));
    mkdirSync(join(root, 'src'), { recursive: true });
    writeFileSync(join(root, 'src', 'main.ts'), 'console.log(1);\n');
    writeFileSync(join(root, 'tsconfig.json'), '{}\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('builds the first time, skips an up-to-date dist, and rebuilds after any source change', () => {
    expect(start.buildReason(root)).toBe('no build yet');
    mkdirSync(join(root, 'dist', 'src'), { recursive: true });
    writeFileSync(join(root, 'dist', 'src', 'main.js'), '');
    expect(start.buildReason(root)).toBe('no build yet');
    start.stamp(root);
    expect(start.buildReason(root)).toBeNull();
    writeFileSync(join(root, 'src', 'main.ts'), 'console.log(2);\n');
    expect(start.buildReason(root)).toBe('sources changed since the last build');
    start.stamp(root);
    writeFileSync(join(root, 'src', 'new-file.ts'), '');
    expect(start.buildReason(root)).toBe('sources changed since the last build');
    start.stamp(root);
    writeFileSync(join(root, 'tsconfig.json'), '{"compilerOptions":{}}\n');
    expect(start.buildReason(root)).toBe('sources changed since the last build');
  });
});
