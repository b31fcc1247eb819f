import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from './support/process.js';

/**
 * `npm run lint` and `npm run format:check` run over what `scripts/tracked.mjs` hands them: the
 * files git tracks, so that a scratch file left in a clone cannot fail `npm test`.
 */
const exec = promisify(execFile);
/** git never looks above the test's own directory (the temp dir may sit inside some repository). */
const run = (file: string, args: string[], { cwd }: { cwd: string }) =>
  exec(file, args, { cwd, env: { ...process.env, GIT_CEILING_DIRECTORIES: tmpdir() } });
const TRACKED = join(ROOT, 'scripts/tracked.mjs');
/** A command that prints the arguments it was given, as JSON. */
const PRINT_ARGS = ['--', process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))'];

const dirs: string[] = [];
async function directory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tracked-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function filesGiven(cwd: string, pathspecs: string[] = []): Promise<string[]> {
  const { stdout } = await run(process.execPath, [TRACKED, ...pathspecs, ...PRINT_ARGS], { cwd });
  return JSON.parse(stdout) as string[];
}

describe('scripts/tracked.mjs', () => {
  it('hands the command the tracked files still on disk: no untracked scratch file, no deleted one', async () => {
    const dir = await directory();
    await run('git', ['init', '-q'], { cwd: dir });
    for (const file of ['a.ts', 'b.md', 'gone.ts']) await writeFile(join(dir, file), '');
    await run('git', ['add', 'a.ts', 'b.md', 'gone.ts'], { cwd: dir });
    await rm(join(dir, 'gone.ts'));
    await writeFile(join(dir, 'scratch.ts'), 'const unused = 1\n');
    expect(await filesGiven(dir)).toEqual(['a.ts', 'b.md']);
    expect(await filesGiven(dir, ['*.ts'])).toEqual(['a.ts']);
  });

  it("exits with the command's status", async () => {
    const dir = await directory();
    const failing = run(process.execPath, [TRACKED, '--', process.execPath, '-e', 'process.exit(3)'], { cwd: dir });
    await expect(failing).rejects.toMatchObject({ code: 3 });
  });

  it('outside a git work tree, hands the command "." (everything)', async () => {
    expect(await filesGiven(await directory())).toEqual(['.']);
  });
});
