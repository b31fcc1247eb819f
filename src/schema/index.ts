import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './contact.js';

/** The executable schema. Built once, at import, with no environment and no I/O. */
export const schema: GraphQLSchema = builder.toSchema();

/** The SDL committed as `schema/schema.graphql`: sorted, so diffs show real changes only. */
export function printSchemaSdl(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

export { ErrorCode } from './errors.js';
