import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { breakingChanges, checkSchemaChanges, unnamed } from '../scripts/schema-changes.js';
import { ROOT } from './support/process.js';

/**
 * The breaking-change guard of `schema/client.graphql` (`npm run schema:breaking`, in `npm test`),
 * run on throwaway git repositories that play each case: a commit as CI checks it, a change not
 * yet committed, the first commit, a shallow clone, a tree without git.
 */
const V1 = `
  "Root."
  type Query {
    "A contact."
    contact(id: ID!): Contact
    "Build information."
    service: String
  }
  "A contact."
  type Contact {
    "Its id."
    id: ID!
    "Its name."
    name: String
  }
`;
/** V1 with `Query.service` removed (breaking) and `Contact.email` added (not). */
const V2 = V1.replace(/"Build information."\s*service: String/, '').replace(
  '"Its name."',
  '"Its email."\n    email: String\n    "Its name."',
);
/** V1 with a field added only. */
const V1_PLUS = V1.replace('"Its name."', '"Its email."\n    email: String\n    "Its name."');

const CHANGELOG_WITHOUT = '# Changelog\n\n## [Unreleased]\n\n### Added\n\n- `Contact.email`.\n';
const CHANGELOG_NAMING = '# Changelog\n\n## [Unreleased]\n\n### Removed\n\n- `Query.service`: use `telliService`.\n';
/** Named, but in an older section only: a breaking change is news for the newest. */
const CHANGELOG_OLD_SECTION = '# Changelog\n\n## [Unreleased]\n\n- nothing\n\n## [0.1.0]\n\n- `Query.service` gone.\n';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function repo(): Promise<{
  dir: string;
  git: (...args: string[]) => string;
  commit: (files: Record<string, string>) => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'schema-changes-'));
  dirs.push(dir);
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false', ...args], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  git('init', '-q', '-b', 'main');
  const write = async (files: Record<string, string>) => {
    for (const [file, text] of Object.entries(files)) {
      await mkdir(join(dir, file, '..'), { recursive: true });
      await writeFile(join(dir, file), text);
    }
  };
  return {
    dir,
    git,
    async commit(files) {
      await write(files);
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', 'change');
    },
  };
}

describe('breakingChanges and unnamed', () => {
  it("finds graphql-inspector's breaking changes only, and which of them the newest section names", async () => {
    const changes = await breakingChanges(V1, V2);
    expect(changes.map((c) => c.path)).toEqual(['Query.service']);
    expect(unnamed(changes, CHANGELOG_WITHOUT).map((c) => c.path)).toEqual(['Query.service']);
    expect(unnamed(changes, CHANGELOG_NAMING)).toEqual([]);
    expect(unnamed(changes, CHANGELOG_OLD_SECTION).map((c) => c.path)).toEqual(['Query.service']);
  });

  it('a field whose type was renamed is named by naming the old type', async () => {
    const before = V1.replace('contact(id: ID!): Contact', 'contact(id: ID!): Person').replace(
      'type Contact',
      'type Person',
    );
    const changes = await breakingChanges(before, V1);
    expect(changes.map((c) => c.path).sort()).toEqual(['Person', 'Query.contact']);
    expect(unnamed(changes, '## [Unreleased]\n\n- `Person` is now `Contact`.\n')).toEqual([]);
  });
});

describe('checkSchemaChanges on a repository', () => {
  it('HEAD against its parent (a clean tree, as CI checks it): fails on an unnamed breaking change, passes once named', async () => {
    const { dir, commit } = await repo();
    await commit({ 'schema/client.graphql': V1, 'CHANGELOG.md': CHANGELOG_WITHOUT });
    await commit({ 'schema/client.graphql': V2 });
    const failing = await checkSchemaChanges(dir);
    expect(failing.ok).toBe(false);
    expect(failing.report.join('\n')).toMatch(/HEAD\^:schema\/client\.graphql → HEAD:schema\/client\.graphql/);
    expect(failing.report.join('\n')).toMatch(/`Query\.service`: Field 'service' was removed from object type 'Query'/);
    await commit({ 'CHANGELOG.md': CHANGELOG_NAMING });
    // The last commit changed only the changelog: HEAD and its parent have the same schema.
    expect(await checkSchemaChanges(dir)).toMatchObject({ ok: true });
  });

  it('the working tree against HEAD when they differ (a change being made)', async () => {
    const { dir, commit } = await repo();
    await commit({ 'schema/client.graphql': V1, 'CHANGELOG.md': CHANGELOG_WITHOUT });
    await commit({ 'schema/client.graphql': V1 });
    await writeFile(join(dir, 'schema/client.graphql'), V2);
    const failing = await checkSchemaChanges(dir);
    expect(failing.ok).toBe(false);
    expect(failing.report[0]).toMatch(/HEAD:schema\/client\.graphql → schema\/client\.graphql \(working tree\)/);
    await writeFile(join(dir, 'CHANGELOG.md'), CHANGELOG_NAMING);
    expect(await checkSchemaChanges(dir)).toMatchObject({ ok: true });
  });

  it('a change that breaks nothing passes without a changelog entry', async () => {
    const { dir, commit } = await repo();
    await commit({ 'schema/client.graphql': V1 });
    await commit({ 'schema/client.graphql': V1_PLUS });
    expect(await checkSchemaChanges(dir)).toMatchObject({ ok: true, report: [expect.stringMatching(/0 breaking/)] });
  });

  it('a previous commit without client.graphql is compared through its subgraph SDL', async () => {
    const { dir, commit } = await repo();
    await commit({ 'schema/schema.graphql': `extend schema @link(url: "x", import: ["@key"])\n${V1}` });
    await commit({ 'schema/client.graphql': V2 });
    const result = await checkSchemaChanges(dir);
    expect(result.ok).toBe(false);
    expect(result.report[0]).toMatch(/HEAD\^:schema\/schema\.graphql → HEAD:schema\/client\.graphql/);
  });

  it('the first commit has nothing to compare with: it passes, saying so', async () => {
    const { dir, commit } = await repo();
    await commit({ 'schema/client.graphql': V2 });
    expect(await checkSchemaChanges(dir)).toEqual({ ok: true, report: [expect.stringMatching(/first commit/)] });
  });

  it('a shallow clone fails: it cannot see what HEAD changed', async () => {
    const { dir, commit } = await repo();
    await commit({ 'schema/client.graphql': V1 });
    await commit({ 'schema/client.graphql': V2 });
    const shallow = `${dir}-shallow`;
    dirs.push(shallow);
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${dir}`, shallow], { stdio: 'ignore' });
    expect(await checkSchemaChanges(shallow)).toEqual({ ok: false, report: [expect.stringMatching(/shallow clone/)] });
  });

  it('a tree without git (an unpacked tarball) passes, saying so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'schema-changes-nogit-'));
    dirs.push(dir);
    // GIT_CEILING_DIRECTORIES is not needed: tmpdir is not inside a repository.
    expect(await checkSchemaChanges(dir)).toEqual({ ok: true, report: [expect.stringMatching(/not a git work tree/)] });
  });

  it("this repository's CHANGELOG.md names every breaking change of the client SDL since it began", async () => {
    // The API's SDL in the commit before CHANGELOG.md was added, against today's client SDL.
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    const began = git('log', '--diff-filter=A', '--format=%H', '--', 'CHANGELOG.md').split('\n').at(-1)!;
    const before = git('show', `${began}^:schema/schema.graphql`);
    const changes = await breakingChanges(before, await readFile(join(ROOT, 'schema/client.graphql'), 'utf8'));
    expect(changes.length).toBeGreaterThan(0);
    expect(unnamed(changes, await readFile(join(ROOT, 'CHANGELOG.md'), 'utf8'))).toEqual([]);
  });
});
