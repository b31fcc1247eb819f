import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/process.js';

/**
 * `npm start` builds `dist/server.js` only when something it is built from changed since the last
 * build (`scripts/build-stamp.mjs`). Run on a copy of the repository, so edits here cannot reach
 * the tests that run this repository's own build.
 */
const run = promisify(execFile);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'telli-graphql-build-'));
  for (const path of ['src', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What `npm start` does before it runs the server. */
const prestart = () => run('npm', ['run', '-s', 'prestart'], { cwd: dir });
/** Whether the bundle holds this log message (a boolean: a failure must not print 3 MB of bundle). */
const bundleSays = (message: string) => readFileSync(join(dir, 'dist/server.js'), 'utf8').includes(`"${message}"`);
/**
 * The source map is rewritten by every build, and the stamp does not cover it: while it still
 * holds this sentinel, no build has run since it was planted.
 */
const SENTINEL = 'no build since';
const plantSentinel = () => writeFileSync(join(dir, 'dist/server.js.map'), SENTINEL);
const builtSinceSentinel = () => readFileSync(join(dir, 'dist/server.js.map'), 'utf8') !== SENTINEL;
/** Replaces the first occurrence of `from` in a file of the copy. */
function edit(path: string, from: string, to: string): void {
  const file = join(dir, path);
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

describe('npm start: build only when needed', { timeout: 180_000 }, () => {
  it('builds when there is no build, then not again while nothing changed', async () => {
    await prestart();
    expect(bundleSays('shutting down')).toBe(true);
    plantSentinel();
    await prestart();
    await prestart();
    expect(builtSinceSentinel()).toBe(false);
  });

  it('rebuilds after a source file changes, with the change in the bundle', async () => {
    plantSentinel();
    edit('src/server.ts', "'shutting down'", "'shutting down now'");
    await prestart();
    expect(builtSinceSentinel()).toBe(true);
    expect(bundleSays('shutting down now')).toBe(true);
  });

  it('rebuilds after a change deep in src/, in the lockfiles or in package.json', async () => {
    for (const change of [
      () => appendFileSync(join(dir, 'src/http/probes.ts'), '\n'),
      () => appendFileSync(join(dir, 'package-lock.json'), '\n'),
      () => edit('package.json', '"version": "0.1.0"', '"version": "0.1.1"'),
    ]) {
      plantSentinel();
      change();
      await prestart();
      expect(builtSinceSentinel()).toBe(true);
    }
  });

  it('rebuilds when the bundle was deleted or edited', async () => {
    await prestart();
    rmSync(join(dir, 'dist/server.js'));
    await prestart();
    expect(bundleSays('shutting down now')).toBe(true);
    plantSentinel();
    appendFileSync(join(dir, 'dist/server.js'), '\n// edited by hand\n');
    await prestart();
    expect(builtSinceSentinel()).toBe(true);
    expect(readFileSync(join(dir, 'dist/server.js'), 'utf8').includes('edited by hand')).toBe(false);
  });

  it('rebuilds when `npm run build` made the bundle from sources that were changed back since', async () => {
    await prestart();
    edit('src/server.ts', "'shutting down now'", "'shutting down later'");
    await run('npm', ['run', '-s', 'build'], { cwd: dir });
    edit('src/server.ts', "'shutting down later'", "'shutting down now'");
    await prestart();
    expect(bundleSays('shutting down now')).toBe(true);
  });
});
