#!/usr/bin/env node
/**
 * `npm start`: builds only when the sources changed since the last build (a hash of every input of
 * `nest build` is kept in dist/.build-hash), says what it is doing, then starts dist/src/main.js in
 * this same process (so Ctrl-C reaches one process, which shuts down cleanly).
 */
'use strict';
const { createHash } = require('crypto');
const { spawnSync } = require('child_process');
const { existsSync, readdirSync, readFileSync, statSync, writeFileSync } = require('fs');
const { join, relative } = require('path');

const BUILD_INPUTS = [
  'src',
  'ormconfig.ts',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
  'package-lock.json',
];

function files(root, entry) {
  const path = join(root, entry);
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => files(root, join(entry, name)));
}

/** A hash of the names and contents of everything `nest build` reads. */
function sourcesHash(root) {
  const hash = createHash('sha256');
  for (const file of BUILD_INPUTS.flatMap((entry) => files(root, entry))) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/** null when dist is up to date, else why a build is needed. */
function buildReason(root) {
  const stampFile = join(root, 'dist', '.build-hash');
  if (!existsSync(join(root, 'dist', 'src', 'main.js')) || !existsSync(stampFile)) return 'no build yet';
  return readFileSync(stampFile, 'utf8').trim() === sourcesHash(root) ? null : 'sources changed since the last build';
}

/** Records that dist/ matches the current sources (`npm run build` calls it too). */
function stamp(root = join(__dirname, '..')) {
  writeFileSync(join(root, 'dist', '.build-hash'), sourcesHash(root) + '\n');
}

function build(root, log = console.log) {
  const reason = buildReason(root);
  if (reason === null) {
    log('[start] dist/ is up to date with the sources: starting without a build');
    return;
  }
  log(`[start] building (${reason}); this takes a few seconds…`);
  const started = Date.now();
  const nest = join(root, 'node_modules', '.bin', 'nest');
  const result = spawnSync(nest, ['build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    log('[start] the build failed (see above)');
    process.exit(result.status ?? 1);
  }
  stamp(root);
  log(`[start] built in ${((Date.now() - started) / 1000).toFixed(1)} s; starting`);
}

module.exports = { buildReason, sourcesHash, build, stamp };

if (require.main === module) {
  const root = join(__dirname, '..');
  build(root);
  require(join(root, 'dist', 'src', 'main.js'));
}
