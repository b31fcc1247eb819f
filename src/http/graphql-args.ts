import type { DocumentNode, GraphQLError, GraphQLSchema, Source } from 'graphql';

/**
 * envelop is graphql-agnostic, so it types what a hook gets of graphql as `any`: an execution's
 * `schema`, `document` and `operationName`, a result's `errors`, parse's `source`. Yoga always runs
 * graphql-js, so they are graphql-js's types. These accessors say so once, for every plugin,
 * instead of each plugin passing an `any` on; they only retype, and cost nothing per request.
 */

/** What the plugins read of an execution's arguments. */
export interface Execution {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operationName?: string | null;
}

/** An execution's arguments (`onExecute`, `onSubscribe`), typed as graphql-js's. */
export function executionOf(args: { schema: unknown; document: unknown; operationName?: unknown }): Execution {
  return args as Execution;
}

/** What `onParse` parsed, once it is not an `Error`: a graphql-js document. */
export function documentOf(parsed: unknown): DocumentNode {
  return parsed as DocumentNode;
}

/** The errors of an execution result (`onExecuteDone`); none for an event stream or a result without. */
export function errorsOf(result: object): readonly GraphQLError[] {
  return 'errors' in result ? ((result.errors ?? []) as readonly GraphQLError[]) : [];
}

/** The text of the document `onParse` is about to parse: a string or a graphql-js `Source`. */
export function sourceTextOf(source: unknown): string {
  return typeof source === 'string' ? source : (source as Source).body;
}
