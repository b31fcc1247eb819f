import { readFile } from 'node:fs/promises';
import { buildSchema, isEnumType, isObjectType, isScalarType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printSchemaSdl, schema } from '../src/schema/index.js';

describe('the committed SDL', () => {
  it('matches the code (run `npm run schema:print` after changing the schema)', async () => {
    const committed = await readFile(new URL('../schema/schema.graphql', import.meta.url), 'utf8');
    expect(printSchemaSdl()).toBe(committed);
  });

  it('describes every type, field, argument and enum value', async () => {
    const sdl = await readFile(new URL('../schema/schema.graphql', import.meta.url), 'utf8');
    const missing: string[] = [];
    for (const type of Object.values(buildSchema(sdl).getTypeMap())) {
      if (type.name.startsWith('__') || ['String', 'ID', 'Int', 'Boolean', 'Float'].includes(type.name)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of field.args) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
      }
      if (isScalarType(type) && !type.description) missing.push(type.name);
    }
    expect(missing).toEqual([]);
  });

  it('builds with no environment (the schema module reads none)', () => {
    expect(schema.getQueryType()?.name).toBe('Query');
  });
});
