/**
 * `npm run schema:print` writes schema/schema.graphql from the code (only when it changed);
 * `npm run schema:check` exits 1 when the committed file has drifted. Needs no environment.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { printSchemaSdl } from './schema/index.js';

const target = fileURLToPath(new URL('../schema/schema.graphql', import.meta.url));

async function run(mode: 'print' | 'check'): Promise<number> {
  const sdl = printSchemaSdl();
  const committed = await readFile(target, 'utf8').catch(() => null);
  if (mode === 'check') {
    if (committed === sdl) return 0;
    process.stderr.write(
      'schema/schema.graphql is out of date with the code: run `npm run schema:print` and commit it.\n',
    );
    return 1;
  }
  if (committed !== sdl) {
    await writeFile(target, sdl);
    process.stdout.write('schema/schema.graphql updated\n');
  } else {
    process.stdout.write('schema/schema.graphql unchanged\n');
  }
  return 0;
}

run(process.argv.includes('--check') ? 'check' : 'print').then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`schema print failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
