import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { RequestListener, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse, print, type DocumentNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { createLayer } from '../src/app.js';
import { ConfigError, parseConfig } from '../src/config.js';
import { createMemoryLogger } from '../src/logger.js';
import type { SandboxContact } from '../src/sandbox/index.js';
import {
  ContactByIdDocument,
  ContactsByIdsDocument,
  ContactStatusDocument,
  type ContactStatusQuery,
} from './__generated__/graphql.js';
import { createDealsSubgraph } from './federation/deals-subgraph.js';
import { createGateway } from './federation/gateway.js';
import { listen } from './support/net.js';
import { ROOT, startServerProcess, type ServerProcess } from './support/process.js';
import { codesOf, useSharedStack, type GraphQLResponse, type TestStack } from './support/stack.js';

/** The committed manifest, exactly as `npm run codegen` writes it and a deployment would load it. */
const MANIFEST_PATH = join(ROOT, 'schema/persisted-documents.json');
const BATCH = 'POST /v1/get-contacts-batch';
const GATEWAY_TOKEN = 'gateway-token-0123456789abcdef';
const UNKNOWN = `sha256:${'0'.repeat(64)}`;
const CSRF = { 'x-graphql-yoga-csrf': '1' };
const ACCEPT = { accept: 'application/graphql-response+json' };

/** The hash the client preset put into a typed document (`__meta__.hash`, "sha256:<hex>"). */
function hashOf(document: DocumentNode): string {
  const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
  if (typeof hash !== 'string') throw new Error('typed document without __meta__.hash: run npm run codegen');
  return hash;
}

const hexOf = (hash: string) => hash.replace(/^sha256:/, '');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Reply<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: GraphQLResponse<T>;
}

async function postJson<T = Record<string, unknown>>(
  stack: TestStack,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Reply<T>> {
  const res = await stack.app.fetch('http://layer.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...ACCEPT, ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GraphQLResponse<T> };
}

/**
 * A frontend's client under PERSISTED_OPERATIONS=only: it sends the hash codegen put into the
 * typed document and never the document, and gets the document's typed result.
 */
function persistedClient(stack: TestStack, headers: Record<string, string> = {}) {
  return async <TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
  ): Promise<Reply<TResult>> => postJson<TResult>(stack, { documentId: hashOf(document), variables }, headers);
}

async function getWithParams(stack: TestStack, params: Record<string, string>, headers: Record<string, string>) {
  const query = new URLSearchParams(params).toString();
  // No content-type: a browser's plain GET, the request CSRF prevention exists for.
  return stack.app.fetch(`http://layer.test/graphql?${query}`, { headers: { ...ACCEPT, ...headers } });
}

describe('PERSISTED_OPERATIONS and PERSISTED_DOCUMENTS_PATH (parseConfig)', () => {
  it('defaults to off; only needs a path, allow may have one; a bad mode is named', () => {
    expect(parseConfig({}).persistedOperations).toEqual({ mode: 'off', path: undefined });
    expect(
      parseConfig({ PERSISTED_OPERATIONS: 'only', PERSISTED_DOCUMENTS_PATH: 'm.json' }).persistedOperations,
    ).toEqual({ mode: 'only', path: 'm.json' });
    expect(() => parseConfig({ PERSISTED_OPERATIONS: 'only' })).toThrow(
      /PERSISTED_DOCUMENTS_PATH is required when PERSISTED_OPERATIONS=only/,
    );
    // APQ alone: documents are registered as clients send them.
    expect(parseConfig({ PERSISTED_OPERATIONS: 'allow' }).persistedOperations).toEqual({
      mode: 'allow',
      path: undefined,
    });
    expect(() => parseConfig({ PERSISTED_OPERATIONS: 'strict', PERSISTED_DOCUMENTS_PATH: 'm.json' })).toThrow(
      /PERSISTED_OPERATIONS must be one of off, allow, only/,
    );
  });

  it('off with a path starts, and says the path is ignored', async () => {
    const logs = createMemoryLogger('warn');
    const config = parseConfig({ PERSISTED_DOCUMENTS_PATH: 'no-such-file.json', METRICS: 'false' });
    const layer = await createLayer(config, { logger: logs.logger });
    await layer.close();
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({ msg: 'PERSISTED_DOCUMENTS_PATH is ignored with PERSISTED_OPERATIONS=off' }),
    );
  });
});

describe('the committed manifest and the typed documents', () => {
  it('holds every typed operation under the hash its typed document carries, as the sha256 of the stored text', async () => {
    const manifest = JSON.parse(await readFile(MANIFEST_PATH, 'utf8')) as Record<string, string>;
    for (const document of [ContactByIdDocument, ContactsByIdsDocument, ContactStatusDocument]) {
      const hash = hashOf(document);
      expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      const stored = manifest[hash];
      expect(stored, hash).toBeDefined();
      expect(sha256(stored as string)).toBe(hexOf(hash));
      // The manifest's text is the same operation, printed the preset's way (sorted, one line) …
      const name = (document.definitions[0] as { name?: { value: string } }).name?.value;
      expect(parse(stored as string).definitions.map((d) => ('name' in d ? d.name?.value : undefined))).toContain(name);
      // … which is not what graphql-js prints: a client must send the generated hash, and cannot
      // derive it from the text it would send (Apollo's persisted-queries link does by default).
      expect(sha256(print(document))).not.toBe(hexOf(hash));
    }
  });
});

describe('PERSISTED_OPERATIONS=only, no caller tokens', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)), {
    env: { PERSISTED_OPERATIONS: 'only', PERSISTED_DOCUMENTS_PATH: MANIFEST_PATH },
  });

  it('runs a typed document sent as its hash alone, with typed data', async () => {
    const client = persistedClient(stack);
    const contact = contacts[0] as SandboxContact;
    const res = await client(ContactStatusDocument, { id: contact.id });
    expectTypeOf(res.body.data).toEqualTypeOf<ContactStatusQuery | null | undefined>();
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.contact).toEqual({
      id: contact.id,
      status: expect.any(String),
      inCallSince: contact.inCallSince,
      reachedAt: contact.reachedAt,
    });
    const many = await client(ContactsByIdsDocument, { ids: [contacts[1]?.id ?? '', contacts[2]?.id ?? ''] });
    expect(many.body.data?.contacts?.map((c) => c?.firstName)).toEqual([
      contacts[1]?.firstName,
      contacts[2]?.firstName,
    ]);
    expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 2 });
  });

  it("accepts Apollo's APQ shape and the bare hex, case-insensitively", async () => {
    const id = (contacts[0] as SandboxContact).id;
    const hex = hexOf(hashOf(ContactStatusDocument));
    for (const body of [
      { extensions: { persistedQuery: { version: 1, sha256Hash: hex } }, variables: { id } },
      { documentId: hex.toUpperCase(), variables: { id } },
      // Both shapes at once, naming the same document (a client migrating from one to the other).
      {
        documentId: `sha256:${hex}`,
        extensions: { persistedQuery: { version: 1, sha256Hash: hex } },
        variables: { id },
      },
    ]) {
      const res = await postJson(stack, body);
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(res.body.data).toEqual({ contact: expect.objectContaining({ id }) });
    }
  });

  it('answers an unknown hash with PERSISTED_QUERY_NOT_FOUND, HTTP 404, in both shapes, before any telli call', async () => {
    for (const body of [
      { documentId: UNKNOWN },
      { extensions: { persistedQuery: { version: 1, sha256Hash: hexOf(UNKNOWN) } } },
    ]) {
      const res = await postJson(stack, body);
      expect(res.status).toBe(404);
      expect(codesOf(res.body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
      // Apollo's text: clients that predate the code match on it to retry with the document.
      expect(res.body.errors?.[0]?.message).toBe('PersistedQueryNotFound');
      expect(res.body.data).toBeUndefined();
    }
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('refuses a raw document with PERSISTED_QUERY_ONLY, HTTP 400, before parse — even beside a valid hash', async () => {
    const id = (contacts[0] as SandboxContact).id;
    const hash = hashOf(ContactStatusDocument);
    for (const body of [
      { query: print(ContactStatusDocument), variables: { id } },
      { query: print(ContactStatusDocument), documentId: hash, variables: { id } },
      // Not even parsed: a syntax error would otherwise be GRAPHQL_PARSE_FAILED.
      { query: '{ this is not graphql' },
    ]) {
      const res = await postJson(stack, body);
      expect(res.status).toBe(400);
      expect(codesOf(res.body)).toEqual(['PERSISTED_QUERY_ONLY']);
      expect(res.body.errors?.[0]?.message).toMatch(/persisted documents only/);
    }
    expect(stack.sandbox.transport.requests).toBe(0);
  });

  it('answers malformed ids with PERSISTED_QUERY_INVALID_ID, HTTP 400', async () => {
    const hex = hexOf(hashOf(ContactStatusDocument));
    for (const body of [
      { documentId: 'abc' },
      { documentId: `sha1:${'0'.repeat(40)}` },
      { documentId: `${hex}0` },
      { documentId: 42 },
      { extensions: { persistedQuery: { version: 1, sha256Hash: 'not-a-hash' } } },
      { extensions: { persistedQuery: { version: 2, sha256Hash: hex } } },
      { extensions: { persistedQuery: true } },
      { documentId: hex, extensions: { persistedQuery: { version: 1, sha256Hash: hexOf(UNKNOWN) } } },
    ]) {
      const res = await postJson(stack, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(codesOf(res.body), JSON.stringify(body)).toEqual(['PERSISTED_QUERY_INVALID_ID']);
    }
  });

  it('answers a request with neither a document nor an id with BAD_REQUEST, HTTP 400', async () => {
    const res = await postJson(stack, { variables: {} });
    expect(res.status).toBe(400);
    expect(codesOf(res.body)).toEqual(['BAD_REQUEST']);
  });

  it('serves a GET with a hash (no CSRF header needed), cacheable privately with an ETag and a 304', async () => {
    const contact = contacts[0] as SandboxContact;
    const params = {
      documentId: hashOf(ContactStatusDocument),
      variables: JSON.stringify({ id: contact.id }),
    };
    expect((await getWithParams(stack, params, {})).status).toBe(200);

    const first = await getWithParams(stack, params, CSRF);
    expect(first.status).toBe(200);
    expect(((await first.json()) as GraphQLResponse).data).toEqual({
      contact: expect.objectContaining({ id: contact.id }),
    });
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    expect(first.headers.get('vary')).toContain('authorization');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);

    const again = await getWithParams(stack, params, { ...CSRF, 'if-none-match': etag ?? '' });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);

    // A changed answer is a new tag: the same URL for another contact's state.
    const other = await getWithParams(
      stack,
      { ...params, variables: JSON.stringify({ id: contacts[1]?.id }) },
      { ...CSRF, 'if-none-match': etag ?? '' },
    );
    expect(other.status).toBe(200);
    expect(other.headers.get('etag')).not.toBe(etag);
  });

  it('the APQ shape works over GET too; refusals over GET are not stored by caches', async () => {
    const id = (contacts[0] as SandboxContact).id;
    const hex = hexOf(hashOf(ContactStatusDocument));
    const apq = await getWithParams(
      stack,
      {
        extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hex } }),
        variables: JSON.stringify({ id }),
      },
      CSRF,
    );
    expect(apq.status).toBe(200);
    expect(((await apq.json()) as GraphQLResponse).data).toEqual({ contact: expect.objectContaining({ id }) });

    const unknown = await getWithParams(stack, { documentId: UNKNOWN }, CSRF);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('cache-control')).toBe('private, no-store');
    const malformed = await getWithParams(stack, { documentId: 'abc' }, CSRF);
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('cache-control')).toBe('private, no-store');
    const raw = await getWithParams(stack, { query: '{ __typename }' }, CSRF);
    expect(raw.status).toBe(400);
    expect(codesOf((await raw.json()) as GraphQLResponse)).toEqual(['PERSISTED_QUERY_ONLY']);
  });

  it('has no gateway exemption without caller tokens: a caller-token header changes nothing', async () => {
    const res = await postJson(stack, { query: '{ __typename }' }, { 'x-caller-token': GATEWAY_TOKEN });
    expect(res.status).toBe(400);
    expect(codesOf(res.body)).toEqual(['PERSISTED_QUERY_ONLY']);
  });
});

describe('PERSISTED_OPERATIONS=only with CALLER_TOKENS: the gateway exemption', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  useSharedStack((s, c) => ((stack = s), (contacts = c)), {
    env: { PERSISTED_OPERATIONS: 'only', PERSISTED_DOCUMENTS_PATH: MANIFEST_PATH, CALLER_TOKENS: GATEWAY_TOKEN },
  });

  it('a caller with a valid token may send documents, and hashes still work', async () => {
    const id = (contacts[0] as SandboxContact).id;
    const token = { 'x-caller-token': GATEWAY_TOKEN };
    const document = await postJson(stack, { query: `{ contact(id: "${id}") { id firstName } }` }, token);
    expect(document.status).toBe(200);
    expect(document.body.data).toEqual({ contact: { id, firstName: contacts[0]?.firstName } });
    const hashed = await persistedClient(stack, token)(ContactStatusDocument, { id });
    expect(hashed.body.data?.contact?.id).toBe(id);
  });

  it('without a valid token there is nothing to exempt: caller auth answers 401 first', async () => {
    const res = await postJson(stack, { query: '{ __typename }' }, { 'x-caller-token': `${GATEWAY_TOKEN}x` });
    expect(res.status).toBe(401);
    expect(codesOf(res.body)).toEqual(['UNAUTHENTICATED']);
  });

  describe('through Hive Gateway, whose query planner writes the documents', () => {
    const servers: Server[] = [];
    let gatewayUrl: string;

    async function serve(handler: RequestListener): Promise<string> {
      const { server, url } = await listen(handler);
      servers.push(server);
      return url;
    }

    beforeAll(async () => {
      const contactsUrl = await serve(stack.app.listener);
      const dealsUrl = await serve(createDealsSubgraph());
      const gateway = await createGateway({ contacts: contactsUrl, deals: dealsUrl }, [
        {
          // What a deployment configures on its gateway: the caller token on requests to this layer.
          onFetch({ url, options, setOptions }) {
            if (url !== contactsUrl) return;
            setOptions({ ...options, headers: { ...options.headers, 'x-caller-token': GATEWAY_TOKEN } });
          },
        },
      ]);
      gatewayUrl = await serve(gateway);
    });
    afterAll(async () => {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it("the gateway's _entities documents run (one telli call for 50 deals)", async () => {
      const res = await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ deals { id contact { firstName status } } }' }),
      });
      const body = (await res.json()) as GraphQLResponse<{ deals: { contact: { firstName: string } | null }[] }>;
      expect(body.errors).toBeUndefined();
      expect(body.data?.deals).toHaveLength(50);
      expect(body.data?.deals.every((d) => typeof d.contact?.firstName === 'string')).toBe(true);
      expect(stack.sandbox.stats.calls).toEqual({ [BATCH]: 1 });
    });
  });
});

describe('PERSISTED_OPERATIONS=allow', () => {
  let stack: TestStack;
  let contacts: SandboxContact[];
  // The committed manifest plus a mutation that writes nothing, so that running it over POST
  // changes no demo data: Yoga refuses a mutation over GET on its operation type, before
  // validation. Written while the suite is collected, because the stack's environment names the
  // file.
  const mutation = 'mutation Touch { __typename }';
  const dir = mkdtempSync(join(tmpdir(), 'persisted-'));
  const manifestPath = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as Record<string, string>;
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, [`sha256:${sha256(mutation)}`]: mutation }));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  useSharedStack((s, c) => ((stack = s), (contacts = c)), {
    env: { PERSISTED_OPERATIONS: 'allow', PERSISTED_DOCUMENTS_PATH: manifestPath },
  });

  it('accepts a hash, a document, and a document beside a documentId', async () => {
    const id = (contacts[0] as SandboxContact).id;
    const hashed = await persistedClient(stack)(ContactStatusDocument, { id });
    expect(hashed.body.data?.contact?.id).toBe(id);
    const raw = await stack.run(ContactStatusDocument, { id });
    expect(raw.data?.contact?.id).toBe(id);
    // An Apollo-style retry: the document and its hash. The document is what runs.
    const both = await postJson(stack, {
      query: '{ __typename }',
      documentId: hashOf(ContactStatusDocument),
    });
    expect(both.status).toBe(200);
    expect(both.body.data).toEqual({ __typename: 'Query' });
  });

  it('answers an unknown hash as APQ does (PERSISTED_QUERY_NOT_FOUND, 200), so APQ clients retry with the document', async () => {
    for (const body of [
      { extensions: { persistedQuery: { version: 1, sha256Hash: hexOf(UNKNOWN) } } },
      { documentId: UNKNOWN },
    ]) {
      const res = await postJson(stack, body);
      expect(res.status).toBe(200);
      expect(res.body.errors?.[0]).toEqual({
        message: 'PersistedQueryNotFound',
        extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' },
      });
    }
  });

  it('runs a manifest document by its APQ hash without its ever being registered', async () => {
    const id = (contacts[0] as SandboxContact).id;
    const res = await postJson<ContactStatusQuery>(stack, {
      extensions: { persistedQuery: { version: 1, sha256Hash: hexOf(hashOf(ContactStatusDocument)) } },
      variables: { id },
    });
    expect(res.body.data?.contact?.id).toBe(id);
  });

  it('refuses a persisted mutation over GET (405); over POST it runs', async () => {
    const documentId = `sha256:${sha256(mutation)}`;
    const get = await getWithParams(stack, { documentId }, CSRF);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const post = await postJson(stack, { documentId });
    // Over POST it gets past the method rule and runs.
    expect(post.status).toBe(200);
    expect(post.body).toEqual({ data: { __typename: 'Mutation' } });
  });
});

describe('PERSISTED_OPERATIONS=off (the default)', () => {
  let stack: TestStack;
  useSharedStack((s) => (stack = s));

  it('a hash alone is PersistedQueryNotSupported; a document with an APQ extension runs; documentId is an unexpected parameter', async () => {
    const hex = hexOf(hashOf(ContactStatusDocument));
    const hashOnly = await postJson(stack, { extensions: { persistedQuery: { version: 1, sha256Hash: hex } } });
    expect(hashOnly.status).toBe(200);
    expect(hashOnly.body.errors?.[0]?.message).toBe('PersistedQueryNotSupported');
    const withExtension = await postJson(stack, {
      query: '{ __typename }',
      extensions: { persistedQuery: { version: 1, sha256Hash: hexOf(UNKNOWN) } },
    });
    expect(withExtension.status).toBe(200);
    expect(withExtension.body.data).toEqual({ __typename: 'Query' });
    const documentId = await postJson(stack, { query: '{ __typename }', documentId: UNKNOWN });
    expect(documentId.status).toBe(400);
    expect(documentId.body.errors?.[0]?.message).toBe('Unexpected parameter "documentId" in the request body.');
  });
});

describe('a bad manifest fails createLayer, naming PERSISTED_DOCUMENTS_PATH', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'persisted-bad-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function failure(content: string | undefined): Promise<ConfigError> {
    const path = join(dir, `m-${Math.random().toString(36).slice(2)}.json`);
    if (content !== undefined) await writeFile(path, content);
    // Sandbox mode: the manifest is read before the sandbox would start, so a failure leaks nothing.
    const config = parseConfig({ PERSISTED_OPERATIONS: 'only', PERSISTED_DOCUMENTS_PATH: path, METRICS: 'false' });
    const error = await createLayer(config, { logger: createMemoryLogger('silent').logger }).then(
      async (layer) => {
        await layer.close();
        throw new Error('createLayer accepted the manifest');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain(`PERSISTED_DOCUMENTS_PATH ${path}`);
    return error as ConfigError;
  }

  const ok = 'query Ok { __typename }';
  const okId = `sha256:${sha256(ok)}`;

  it('a missing file, a file that is not JSON, or not an object', async () => {
    expect((await failure(undefined)).message).toMatch(/cannot be read \(ENOENT\)/);
    expect((await failure('{ nope')).message).toMatch(/is not JSON/);
    expect((await failure(JSON.stringify([ok]))).message).toMatch(/must be a JSON object/);
    expect((await failure('{}')).message).toMatch(/holds no documents/);
  });

  it('reports every bad entry at once: ids, non-strings, parse errors, no operation, hash mismatch', async () => {
    const fragment = 'fragment F on Query { __typename }';
    const broken = '{ contact(id: ';
    const error = await failure(
      JSON.stringify({
        [okId]: ok,
        'sha1:abc': ok,
        [`sha256:${sha256('x')}`]: 42,
        [`sha256:${sha256(broken)}`]: broken,
        [`sha256:${sha256(fragment)}`]: fragment,
        [`sha256:${sha256('query Other { __typename }')}`]: ok,
      }),
    );
    expect(error.problems).toHaveLength(5);
    expect(error.message).toMatch(/key "sha1:abc" is not a sha256 document id/);
    expect(error.message).toMatch(/is not a string/);
    expect(error.message).toMatch(/does not parse \(Syntax Error/);
    expect(error.message).toMatch(/holds no operation/);
    expect(error.message).toMatch(/is not the sha256 of its document/);
  });

  it('the committed manifest loads (the same check, passing)', async () => {
    const config = parseConfig({
      PERSISTED_OPERATIONS: 'only',
      PERSISTED_DOCUMENTS_PATH: MANIFEST_PATH,
      METRICS: 'false',
    });
    const logs = createMemoryLogger('info');
    const layer = await createLayer(config, { logger: logs.logger });
    await layer.close();
    const manifest = JSON.parse(await readFile(MANIFEST_PATH, 'utf8')) as Record<string, string>;
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({
        msg: 'persisted documents loaded',
        mode: 'only',
        documents: Object.keys(manifest).length,
      }),
    );
  });
});

describe('the built server (dist/server.js) with PERSISTED_OPERATIONS=only', () => {
  let server: ServerProcess;
  let url: string;
  beforeAll(async () => {
    // Sandbox mode; the path is relative to the working directory, as a deployment would give it.
    server = startServerProcess({
      PORT: '0',
      LOG_LEVEL: 'info',
      PERSISTED_OPERATIONS: 'only',
      PERSISTED_DOCUMENTS_PATH: 'schema/persisted-documents.json',
    });
    url = (await server.waitForLine((l) => typeof l['graphiql'] === 'string'))['graphiql'] as string;
  });
  afterAll(() => server.stop());

  it('runs a hash over POST and GET (with a 304), and refuses a document with PERSISTED_QUERY_ONLY', async () => {
    const documentId = hashOf(ContactStatusDocument);
    const variables = { id: '3c90c3cc-0d44-4b50-8888-8dd25736052a' };
    const post = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ documentId, variables }),
    });
    expect(post.status).toBe(200);
    const body = (await post.json()) as GraphQLResponse<ContactStatusQuery>;
    expect(body.data?.contact).toMatchObject({ id: variables.id, status: 'REACHED' });

    const getUrl = `${url}?${new URLSearchParams({ documentId, variables: JSON.stringify(variables) })}`;
    const get = await fetch(getUrl, { headers: CSRF });
    expect(get.status).toBe(200);
    expect(get.headers.get('cache-control')).toBe('private, no-cache');
    const etag = get.headers.get('etag') ?? '';
    expect((await fetch(getUrl, { headers: { ...CSRF, 'if-none-match': etag } })).status).toBe(304);

    const raw = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: print(ContactStatusDocument), variables }),
    });
    expect(raw.status).toBe(400);
    expect(codesOf((await raw.json()) as GraphQLResponse)).toEqual(['PERSISTED_QUERY_ONLY']);
    expect(server.lines).toContainEqual(expect.objectContaining({ msg: 'persisted documents loaded', mode: 'only' }));
  });

  it('exits 1 at start naming PERSISTED_DOCUMENTS_PATH when the manifest is missing', async () => {
    const bad = startServerProcess({
      PORT: '0',
      PERSISTED_OPERATIONS: 'only',
      PERSISTED_DOCUMENTS_PATH: 'schema/no-such-manifest.json',
    });
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toMatch(/PERSISTED_DOCUMENTS_PATH schema\/no-such-manifest\.json: cannot be read \(ENOENT\)/);
  });
});
