/**
 * What a Relay app does with this API, without React: relay-compiler (its native binary, with the
 * minimal config: `src`, `schema`, `language`) compiles the fragments below against a schema
 * file, then relay-runtime runs the generated refetch and pagination queries over HTTP and reads
 * the fragments from its store, as `useRefetchableFragment` and `usePaginationFragment` do.
 *
 * The artifacts are generated as JavaScript, so that this test can load them without a TypeScript
 * step; a TypeScript app gets the same runtime artifacts plus types.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { stripVTControlCharacters } from 'node:util';
import { join } from 'node:path';
import {
  createOperationDescriptor,
  Environment,
  fetchQuery,
  getSelector,
  Network,
  RecordSource,
  Store,
  type ConcreteRequest,
  type ReaderFragment,
} from 'relay-runtime';
import { ROOT } from '../support/process.js';

/** One file per module, as relay-compiler wants (`<Module>_<prop>` fragments, `<Module>Query` queries). */
export const RELAY_SOURCES: Record<string, string> = {
  'ContactCard.js': `
graphql\`
  fragment ContactCard_contact on Contact @refetchable(queryName: "ContactCardRefetchQuery") {
    id
    firstName
    lastName
  }
\`;`,
  'CallRow.js': `
graphql\`
  fragment CallRow_call on Call @refetchable(queryName: "CallRowRefetchQuery") {
    id
    status
  }
\`;`,
  'AgentBadge.js': `
graphql\`
  fragment AgentBadge_agent on Agent @refetchable(queryName: "AgentBadgeRefetchQuery") {
    id
    title
  }
\`;`,
  'ContactCalls.js': `
graphql\`
  fragment ContactCalls_contact on Contact
  @refetchable(queryName: "ContactCallsPaginationQuery")
  @argumentDefinitions(count: { type: "Int", defaultValue: 2 }, cursor: { type: "String" }) {
    calls(first: $count, after: $cursor) @connection(key: "ContactCalls_calls") {
      edges {
        node {
          id
          ...CallRow_call
        }
      }
    }
  }
\`;`,
  'ContactsList.js': `
graphql\`
  fragment ContactsList_query on Query
  @refetchable(queryName: "ContactsListPaginationQuery")
  @argumentDefinitions(count: { type: "Int", defaultValue: 3 }, cursor: { type: "String" }) {
    contactsPage(first: $count, after: $cursor) @connection(key: "ContactsList_contactsPage") {
      edges {
        node {
          id
          ...ContactCard_contact
        }
      }
    }
  }
\`;`,
  'ContactScreen.js': `
graphql\`
  query ContactScreenQuery($id: ID!) {
    contact(id: $id) {
      ...ContactCard_contact
      ...ContactCalls_contact
    }
  }
\`;`,
};

export interface Compiled {
  /** The scratch directory (sources, schema, config, artifacts); the caller removes it. */
  dir: string;
  ok: boolean;
  /** relay-compiler's stdout and stderr. */
  output: string;
  /** Where the generated artifacts are (`src/__generated__`). */
  generated: string;
}

const RELAY_COMPILER = join(ROOT, 'node_modules', 'relay-compiler', 'cli.js');

/** Compiles the sources against `schemaSdl` in a fresh directory. */
export async function compileRelay(schemaSdl: string): Promise<Compiled> {
  const dir = await mkdtemp(join(tmpdir(), 'telli-relay-'));
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'schema.graphql'), schemaSdl);
  await writeFile(
    join(dir, 'relay.config.json'),
    JSON.stringify({ src: './src', schema: './schema.graphql', language: 'javascript' }),
  );
  for (const [file, source] of Object.entries(RELAY_SOURCES)) await writeFile(join(dir, 'src', file), source);
  const run = spawnSync(process.execPath, [RELAY_COMPILER], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  // relay-compiler colours its output even into a pipe.
  const output = stripVTControlCharacters(`${run.stdout}${run.stderr}`);
  return { dir, ok: run.status === 0, output, generated: join(dir, 'src', '__generated__') };
}

/** The generated artifacts, by file name, for comparing two compilations. */
export async function artifacts(compiled: Compiled): Promise<Record<string, string>> {
  const files = (await readdir(compiled.generated)).sort();
  return Object.fromEntries(
    await Promise.all(files.map(async (f) => [f, await readFile(join(compiled.generated, f), 'utf8')] as const)),
  );
}

/**
 * A generated artifact, loaded as the app's bundler would: relay-compiler writes ES modules that
 * import each other without a file extension (`./XQuery.graphql`), which Vite resolves as
 * bundlers do and Node alone would not.
 */
export async function artifact<T extends ConcreteRequest | ReaderFragment>(
  compiled: Compiled,
  name: string,
): Promise<T> {
  const module = (await import(/* @vite-ignore */ join(compiled.generated, `${name}.graphql.js`))) as { default: T };
  return module.default;
}

/** A Relay environment over HTTP, with the fetch function Relay's docs show. */
export function relayEnvironment(graphqlUrl: string, sent: { text: string | null | undefined }[] = []): Environment {
  return new Environment({
    network: Network.create(async (params, variables) => {
      sent.push({ text: params.text });
      const res = await fetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: params.text, variables }),
      });
      return res.json();
    }),
    store: new Store(new RecordSource()),
  });
}

/**
 * Runs a generated query, then reads `fragment` from the store at `path` of the query's root —
 * where `useRefetchableFragment` / `usePaginationFragment` read it after a refetch.
 */
export async function runAndRead(
  environment: Environment,
  query: ConcreteRequest,
  fragment: ReaderFragment,
  variables: Record<string, unknown>,
): Promise<Record<string, unknown> | null> {
  await fetchQuery(environment, query, variables, { fetchPolicy: 'network-only' }).toPromise();
  const operation = createOperationDescriptor(query, variables);
  const root = environment.lookup(operation.fragment).data as Record<string, unknown> | null;
  const refetch = fragment.metadata?.refetch as { fragmentPathInResult?: readonly string[] } | undefined;
  let ref: unknown = root;
  for (const key of refetch?.fragmentPathInResult ?? []) ref = (ref as Record<string, unknown> | null)?.[key];
  if (!ref) return null;
  const selector = getSelector(fragment, ref as never);
  if (!selector || !('dataID' in selector)) return null;
  return environment.lookup(selector).data as Record<string, unknown> | null;
}
