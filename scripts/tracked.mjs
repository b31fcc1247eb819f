// @ts-check
/**
 * Runs a checker over the files git tracks, so that `npm test` judges what the repository holds,
 * not the scratch files someone left in their clone:
 *
 *   node scripts/tracked.mjs [pathspec…] -- command [arg…]
 *
 * appends every tracked file (matching the git pathspecs, if any) that is still on disk to the
 * command's arguments, and exits with its status. A file deleted but not yet committed is left
 * out rather than reported missing. Outside a git work tree (an unpacked tarball) there is no
 * "tracked", so the command gets `.`: everything, as the checker's own ignore files say.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import process from 'node:process';

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
if (split < 0 || split === argv.length - 1) {
  process.stderr.write('usage: node scripts/tracked.mjs [pathspec…] -- command [arg…]\n');
  process.exit(2);
}
const pathspecs = argv.slice(0, split);
const [command, ...args] = argv.slice(split + 1);

/** @type {string[]} */
let files;
try {
  files = execFileSync('git', ['ls-files', '-z', '--', ...pathspecs], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .split('\0')
    .filter((file) => file !== '' && existsSync(file));
} catch {
  files = ['.'];
}

const result = spawnSync(/** @type {string} */ (command), [...args, ...files], { stdio: 'inherit' });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
