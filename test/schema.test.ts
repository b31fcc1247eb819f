import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Kind, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printSchemaSdl } from '../src/schema/index.js';
import { ROOT } from './support/process.js';

describe('the committed SDL', () => {
  it('matches the code (run `npm run schema:print` after changing the schema)', async () => {
    const committed = await readFile(new URL('../schema/schema.graphql', import.meta.url), 'utf8');
    expect(printSchemaSdl()).toBe(committed);
  });

  it('describes every type, field, argument and enum value', async () => {
    const sdl = await readFile(new URL('../schema/schema.graphql', import.meta.url), 'utf8');
    const missing: string[] = [];
    for (const definition of parse(sdl).definitions) {
      if (!('name' in definition) || !definition.name) continue; // `extend schema @link(...)`
      const type = definition.name.value;
      if (!('description' in definition) || !definition.description) missing.push(type);
      if ('fields' in definition) {
        for (const field of definition.fields ?? []) {
          if (!field.description) missing.push(`${type}.${field.name.value}`);
          const args = 'arguments' in field ? (field.arguments ?? []) : [];
          for (const arg of args) if (!arg.description) missing.push(`${type}.${field.name.value}(${arg.name.value})`);
        }
      }
      if (definition.kind === Kind.ENUM_TYPE_DEFINITION) {
        for (const value of definition.values ?? [])
          if (!value.description) missing.push(`${type}.${value.name.value}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('builds with no environment (the schema module reads none)', async () => {
    // `npm run schema:check` in a process whose environment is empty: no PATH, no HOME, no key.
    // It exits 0 only when the schema built there prints as the committed SDL.
    const check = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/print-schema.ts', '--check'], {
      cwd: ROOT,
      env: {},
    });
    await expect(check).resolves.toMatchObject({ stderr: '' });
  });
});
