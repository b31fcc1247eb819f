/**
 * `npm run schema:breaking` (part of `npm test`): a change that breaks `schema/client.graphql` for
 * existing clients — graphql-inspector's BREAKING changes: a removed type or field, a changed
 * field type, a new required argument, … — fails unless CHANGELOG.md names it, so that no change
 * that breaks clients is silent.
 *
 * What it compares:
 * - the working tree's `schema/client.graphql` with HEAD's, when they differ (a change being made);
 * - otherwise HEAD's with its first parent's (the commit being checked, as CI sees it);
 * - where a commit has no `schema/client.graphql` yet, its `schema/schema.graphql` (the subgraph
 *   SDL: the same API plus federation's fields, which are not clients' concern).
 * With nothing to compare with — a root commit, a tree that is not a git repository (an unpacked
 * tarball), or a commit without either SDL — it says so and passes. A shallow clone fails: its
 * HEAD has a parent that it cannot see, and passing would let a breaking change through unseen.
 *
 * "Names it": the newest section of CHANGELOG.md (from its first `## ` heading to the next) holds,
 * in backticks, the change's path (`Query.service`, `PageInfo`, `Query.contact.id`) or — for a
 * field or argument whose type changed — the type it had (`PageInfo` covers every
 * `… changed type from 'PageInfo!'`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';

const CLIENT_SDL = 'schema/client.graphql';
/** Before `schema/client.graphql` existed, the subgraph SDL was the API's only SDL. */
const FALLBACK_SDL = 'schema/schema.graphql';
const CHANGELOG = 'CHANGELOG.md';

export interface SchemaChangesResult {
  ok: boolean;
  /** What was compared with what, and what is wrong; printed by the script. */
  report: string[];
}

/** The breaking changes from `oldSdl` to `newSdl`. */
export async function breakingChanges(oldSdl: string, newSdl: string): Promise<Change[]> {
  // The subgraph SDL uses federation's directives without declaring them.
  const build = (sdl: string) => buildSchema(sdl, { assumeValidSDL: true });
  const changes = await diff(build(oldSdl), build(newSdl));
  return changes.filter((change) => change.criticality.level === CriticalityLevel.Breaking);
}

/** Every name or dotted path written in backticks in the newest section of a changelog. */
export function namedInNewestSection(changelog: string): Set<string> {
  const sections = changelog.split(/^## /m);
  const newest = sections[1] ?? '';
  const names = new Set<string>();
  for (const [, code] of newest.matchAll(/`([^`]+)`/g)) {
    for (const [name] of (code ?? '').matchAll(/[_A-Za-z][_0-9A-Za-z]*(?:\.[_A-Za-z][_0-9A-Za-z]*)*/g)) {
      names.add(name);
    }
  }
  return names;
}

/** The names that would cover a change: its path, and the named type a field or argument had. */
function coveringNames(change: Change): string[] {
  const names = change.path ? [change.path] : [];
  for (const [key, value] of Object.entries((change.meta ?? {}) as Record<string, unknown>)) {
    if (/^old.*Type$/.test(key) && typeof value === 'string') names.push(value.replace(/[[\]!]/g, ''));
  }
  return names;
}

/** The breaking changes that the changelog does not name. */
export function unnamed(changes: readonly Change[], changelog: string): Change[] {
  const named = namedInNewestSection(changelog);
  return changes.filter((change) => !coveringNames(change).some((name) => named.has(name)));
}

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** The API's SDL as `revision` has it (`schema/client.graphql`, else the subgraph SDL). */
function sdlAt(cwd: string, revision: string): { sdl: string; file: string } | undefined {
  for (const file of [CLIENT_SDL, FALLBACK_SDL]) {
    const sdl = git(cwd, ['show', `${revision}:${file}`]);
    if (sdl !== undefined) return { sdl, file };
  }
  return undefined;
}

/** Runs the check on the repository at `cwd`. */
export async function checkSchemaChanges(cwd: string): Promise<SchemaChangesResult> {
  const root = git(cwd, ['rev-parse', '--show-toplevel'])?.trim();
  if (!root) return { ok: true, report: ['not a git work tree: no previous schema to compare with; skipped'] };
  const working = existsSync(join(root, CLIENT_SDL)) ? readFileSync(join(root, CLIENT_SDL), 'utf8') : undefined;
  const head = sdlAt(root, 'HEAD');

  let before: { sdl: string; label: string } | undefined;
  let after: { sdl: string; label: string } | undefined;
  if (working !== undefined && (head?.file !== CLIENT_SDL || head.sdl !== working)) {
    // A change being made: the working tree against the last commit.
    before = head && { sdl: head.sdl, label: `HEAD:${head.file}` };
    after = { sdl: working, label: `${CLIENT_SDL} (working tree)` };
  } else {
    if (git(root, ['rev-parse', '--is-shallow-repository'])?.trim() === 'true') {
      return {
        ok: false,
        report: [
          `a shallow clone cannot show HEAD's parent, so a breaking change of ${CLIENT_SDL} would pass unseen: clone with full history (or \`git fetch --unshallow\`)`,
        ],
      };
    }
    const parent = git(root, ['rev-parse', '--verify', '--quiet', 'HEAD^'])?.trim();
    if (!parent) return { ok: true, report: ['HEAD is the first commit: no previous schema to compare with; skipped'] };
    const previous = sdlAt(root, parent);
    before = previous && { sdl: previous.sdl, label: `HEAD^:${previous.file}` };
    after = head && { sdl: head.sdl, label: `HEAD:${head.file}` };
  }
  if (!before || !after) {
    return { ok: true, report: ['no previous schema to compare with; skipped'] };
  }

  const changes = await breakingChanges(before.sdl, after.sdl);
  const changelog = existsSync(join(root, CHANGELOG)) ? readFileSync(join(root, CHANGELOG), 'utf8') : '';
  const missing = unnamed(changes, changelog);
  const compared = `${before.label} → ${after.label}: ${changes.length} breaking change(s)`;
  if (missing.length === 0) return { ok: true, report: [compared] };
  return {
    ok: false,
    report: [
      compared,
      `${missing.length} of them not named in the newest section of ${CHANGELOG} (name each path, or the type it had, in backticks, and say what clients must change):`,
      ...missing.map((change) => `  - \`${change.path ?? '?'}\`: ${change.message}`),
    ],
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  checkSchemaChanges(process.cwd()).then(
    ({ ok, report }) => {
      const lines = report.map((line) => `schema:breaking: ${line}\n`).join('');
      (ok ? process.stdout : process.stderr).write(lines);
      process.exit(ok ? 0 : 1);
    },
    (error: unknown) => {
      process.stderr.write(`schema:breaking failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
