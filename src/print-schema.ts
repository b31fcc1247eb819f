/**
 * `npm run schema:print` writes the committed SDLs from the code (each only when it changed);
 * `npm run schema:check` exits 1 when a committed file has drifted. Needs no environment.
 *
 * - `schema/schema.graphql`: the subgraph SDL a federation gateway composes (`_service { sdl }`);
 * - `schema/client.graphql`: the API as clients see it, for Relay, codegen and schema tools.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { printClientSdl, printSchemaSdl } from './schema/index.js';

const TARGETS: readonly { file: string; print: () => string }[] = [
  { file: 'schema/schema.graphql', print: printSchemaSdl },
  { file: 'schema/client.graphql', print: printClientSdl },
];

async function run(mode: 'print' | 'check'): Promise<number> {
  let status = 0;
  for (const target of TARGETS) {
    const path = fileURLToPath(new URL(`../${target.file}`, import.meta.url));
    const sdl = target.print();
    const committed = await readFile(path, 'utf8').catch(() => null);
    if (mode === 'check') {
      if (committed !== sdl) {
        process.stderr.write(
          `${target.file} is out of date with the code: run \`npm run schema:print\` and commit it.\n`,
        );
        status = 1;
      }
    } else if (committed !== sdl) {
      await writeFile(path, sdl);
      process.stdout.write(`${target.file} updated\n`);
    } else {
      process.stdout.write(`${target.file} unchanged\n`);
    }
  }
  return status;
}

run(process.argv.includes('--check') ? 'check' : 'print').then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`schema print failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
