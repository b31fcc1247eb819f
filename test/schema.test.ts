import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import {
  buildClientSchema,
  buildSchema,
  introspectionFromSchema,
  isObjectType,
  Kind,
  parse,
  type GraphQLSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { printClientSdl, printSchemaSdl, schema } from '../src/schema/index.js';
import { ROOT } from './support/process.js';

const committed = (file: string) => readFile(new URL(`../schema/${file}`, import.meta.url), 'utf8');

describe('the committed SDLs', () => {
  it('match the code (run `npm run schema:print` after changing the schema)', async () => {
    expect(printSchemaSdl()).toBe(await committed('schema.graphql'));
    expect(printClientSdl()).toBe(await committed('client.graphql'));
  });

  it('describe every type, field, argument and enum value', async () => {
    const missing: string[] = [];
    for (const file of ['schema.graphql', 'client.graphql']) {
      missing.push(...undescribed(await committed(file)).map((name) => `${file}: ${name}`));
    }
    expect(missing).toEqual([]);
  });

  it('build with no environment (the schema module reads none)', async () => {
    // `npm run schema:check` in a process whose environment is empty: no PATH, no HOME, no key.
    // It exits 0 only when the schema built there prints as the committed SDLs.
    const check = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/print-schema.ts', '--check'], {
      cwd: ROOT,
      env: {},
    });
    await expect(check).resolves.toMatchObject({ stderr: '' });
  });
});

describe('schema/client.graphql, the API as clients see it', () => {
  it('is plain GraphQL: no federation directive, field or type, no directive of its own', async () => {
    const sdl = await committed('client.graphql');
    // Tools that do not know federation (Relay's compiler, graphql-inspector) build it as is.
    const client = buildSchema(sdl);
    expect(Object.keys(client.getTypeMap()).filter((name) => /^_[^_]|__/.test(name) && !name.startsWith('__'))).toEqual(
      [],
    );
    expect(Object.keys(client.getQueryType()?.getFields() ?? {}).filter((name) => name.startsWith('_'))).toEqual([]);
    expect(parse(sdl).definitions.filter((d) => d.kind === Kind.SCHEMA_EXTENSION)).toEqual([]);
    expect(client.getDirectives().map((d) => d.name)).toEqual(
      buildSchema('type Query { a: Int }')
        .getDirectives()
        .map((d) => d.name),
    );
  });

  it('has every type and field introspection shows, except federation’s', async () => {
    const client = buildSchema(await committed('client.graphql'));
    const introspected = buildClientSchema(introspectionFromSchema(schema));
    const federation = (name: string) => name.startsWith('_');
    expect(shape(client)).toEqual(shape(introspected, federation));
  });

  it('has Relay’s Node and node(id:), which the published subgraph SDL leaves out of Query', async () => {
    const client = buildSchema(await committed('client.graphql'));
    const published = buildSchema(await committed('schema.graphql'), { assumeValidSDL: true });
    expect(client.getQueryType()?.getFields()['node']?.type.toString()).toBe('Node');
    expect(published.getQueryType()?.getFields()['node']).toBeUndefined();
    for (const sdlSchema of [client, published]) {
      expect(sdlSchema.getPossibleTypes(sdlSchema.getType('Node') as never).map((t) => t.name)).toEqual([
        'Agent',
        'Call',
        'Contact',
      ]);
    }
  });
});

/** Each named type with its fields, leaving out names `skip` says. */
function shape(target: GraphQLSchema, skip: (name: string) => boolean = () => false): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, type] of Object.entries(target.getTypeMap())) {
    if (name.startsWith('__') || skip(name)) continue;
    out[name] = isObjectType(type)
      ? Object.keys(type.getFields())
          .filter((field) => !skip(field))
          .sort()
      : [];
  }
  return out;
}

/** Types, fields, arguments and enum values of `sdl` that have no description. */
function undescribed(sdl: string): string[] {
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
      for (const value of definition.values ?? []) {
        if (!value.description) missing.push(`${type}.${value.name.value}`);
      }
    }
  }
  return missing;
}
