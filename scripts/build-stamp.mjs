// @ts-check
/**
 * Lets `npm start` skip the build when `dist/server.js` was built from exactly the sources on disk.
 *
 *   node scripts/build-stamp.mjs begin   # before a build: forget the old stamp, note the inputs
 *   node scripts/build-stamp.mjs commit  # after a successful build: the output is from those inputs
 *   node scripts/build-stamp.mjs fresh   # exit 0 when the stamp matches inputs and output, 1 otherwise
 *
 * Why content hashes, not timestamps: a `git checkout` or a copy can give an older file a newer
 * time and the other way round; a hash over every input says what the bundle was made of. The
 * inputs are what esbuild reads: every file under `src/`, the package and TypeScript manifests,
 * the lockfiles (the root one and npm's record of what is installed in `node_modules`, so a new
 * dependency tree rebuilds too) and the build's own scripts. The output's hash is kept as well,
 * so a deleted or edited `dist/server.js` is rebuilt.
 *
 * `begin` hashes the inputs before esbuild reads them and `commit` stamps the output with that
 * hash, so a source edited during a build leaves a stamp that no longer matches: the next start
 * builds again. A failed build leaves no stamp at all.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUTPUT = join(ROOT, 'dist/server.js');
const STAMP = join(ROOT, 'dist/.build-stamp.json');
const PENDING = join(ROOT, 'dist/.build-stamp.pending.json');
const INPUT_FILES = [
  'package.json',
  'package-lock.json',
  'node_modules/.package-lock.json',
  'tsconfig.json',
  'scripts/build-stamp.mjs',
  'scripts/trim-source-map.mjs',
];
const INPUT_DIRS = ['src'];

/** @param {string} dir @returns {string[]} every file below `dir` */
function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

/** One hash over the path and content of every input, in a fixed order. */
function inputsHash() {
  const paths = [
    ...INPUT_FILES.map((file) => join(ROOT, file)).filter((path) => existsSync(path)),
    ...INPUT_DIRS.flatMap((dir) => filesUnder(join(ROOT, dir))),
  ]
    .map((path) => relative(ROOT, path))
    .sort();
  const hash = createHash('sha256');
  for (const path of paths) {
    const content = readFileSync(join(ROOT, path));
    hash.update(`${path}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

/** @param {string} path */
const fileHash = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** @param {string} path @returns {{ inputs?: string; output?: string }} */
function readStamp(path) {
  try {
    /** @type {unknown} */
    const stamp = JSON.parse(readFileSync(path, 'utf8'));
    return /** @type {{ inputs?: string; output?: string }} */ (stamp);
  } catch {
    return {};
  }
}

switch (process.argv[2]) {
  case 'begin':
    rmSync(STAMP, { force: true });
    mkdirSync(dirname(PENDING), { recursive: true });
    writeFileSync(PENDING, JSON.stringify({ inputs: inputsHash() }));
    break;
  case 'commit': {
    const { inputs } = readStamp(PENDING);
    if (inputs) {
      writeFileSync(PENDING, JSON.stringify({ inputs, output: fileHash(OUTPUT) }));
      renameSync(PENDING, STAMP);
    }
    break;
  }
  case 'fresh': {
    const { inputs, output } = readStamp(STAMP);
    const fresh = inputs !== undefined && existsSync(OUTPUT) && inputs === inputsHash() && output === fileHash(OUTPUT);
    process.exit(fresh ? 0 : 1);
    break;
  }
  default:
    process.stderr.write('usage: node scripts/build-stamp.mjs begin|commit|fresh\n');
    process.exit(2);
}
