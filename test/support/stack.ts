import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { createLayer, type Layer, type LayerDeps } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createMemoryLogger } from '../../src/logger.js';
import {
  startSandbox,
  type RunningSandbox,
  type SandboxContact,
  type StartSandboxOptions,
} from '../../src/sandbox/index.js';

export interface GraphQLResponse<T = Record<string, unknown>> extends ExecutionResult<T> {
  errors?: ExecutionResult['errors'] &
    { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface TestStack {
  sandbox: RunningSandbox;
  layer: Layer;
  /** The request edge, the same one `node:http` serves: `app.fetch(url, init)` runs a request without a socket. */
  app: Layer['edge'];
  logs: ReturnType<typeof createMemoryLogger>;
  /** Runs a codegen-typed operation through `app.fetch`, the way a frontend would. */
  run<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
  ): Promise<GraphQLResponse<TResult>>;
  /** Runs a query string (for dynamically built operations: many aliases). */
  raw(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse>;
  /** Like `raw`, returning the HTTP response too. */
  http(
    query: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; text: string; body: GraphQLResponse }>;
  close(): Promise<void>;
}

/**
 * The production wiring — `createLayer` from a parsed environment, exactly as `src/server.ts`
 * builds it — against a sandbox served on loopback HTTP in server-key (or forwarded-key) mode.
 * Nothing is mocked: upstream calls are counted by the sandbox itself.
 */
export interface TestStackOptions {
  sandbox?: StartSandboxOptions;
  /**
   * Environment for `parseConfig`, on top of the stack's own: the sandbox's URL and key, fast
   * retries (`TELLI_RETRY_BASE_MS=10`, `TELLI_RETRY_MAX_MS=50`) and metrics off.
   */
  env?: Record<string, string>;
  /** `forward`: callers send their own telli key. */
  auth?: 'server' | 'forward';
  /** Server-key mode: the key the layer sends (defaults to the sandbox's own). */
  serverApiKey?: string;
  /** Injected parts (tracing, the cache's clock, the backoff's randomness). */
  deps?: Omit<LayerDeps, 'logger'>;
}

export async function createTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const sandbox = await startSandbox(options.sandbox);
  const logs = createMemoryLogger('debug');
  const target =
    options.auth === 'forward' ? { TELLI_AUTH: 'forward' } : { TELLI_API_KEY: options.serverApiKey ?? sandbox.apiKey };
  const config = parseConfig({
    TELLI_BASE_URL: sandbox.url,
    TELLI_RETRY_BASE_MS: '10',
    TELLI_RETRY_MAX_MS: '50',
    METRICS: 'false',
    ...target,
    ...options.env,
  });
  const layer = await createLayer(config, { logger: logs.logger, ...options.deps });
  layer.setServing(true);
  const app = layer.edge;

  async function http(body: unknown, headers: Record<string, string> = {}) {
    const response = await app.fetch('http://layer.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text) as GraphQLResponse };
  }
  const post = async (body: unknown, headers?: Record<string, string>) => (await http(body, headers)).body;

  return {
    sandbox,
    layer,
    app,
    logs,
    run: (document, variables) => post({ query: print(document), variables }) as never,
    raw: (query, variables, headers) => post({ query, variables }, headers),
    http: (query, headers) => http({ query }, headers),
    async close() {
      await layer.close();
      await sandbox.close();
    },
  };
}

/**
 * One stack for a whole suite: started before its tests, closed after them, the sandbox's counters
 * reset before each test. `onReady` receives the stack and the sandbox's contacts.
 */
export function useSharedStack(
  onReady: (stack: TestStack, contacts: SandboxContact[]) => void,
  options?: TestStackOptions,
): void {
  let stack: TestStack | undefined;
  beforeAll(async () => {
    stack = await createTestStack(options);
    onReady(stack, [...stack.sandbox.contacts.values()]);
  });
  afterAll(() => stack?.close());
  beforeEach(() => stack?.sandbox.resetStats());
}

/** A body for telli's side of a fault (`injectFault`, a raw record): it must never reach a client or a log. */
export const UPSTREAM_BODY = 'telli-internal-detail-7f3a';

/**
 * Nothing of telli's side reaches a client or a log line: not the key, not telli's address, not
 * `UPSTREAM_BODY`; and no stack trace in an answer (a masked error's is logged, never answered).
 */
export function expectNoLeaks(stack: TestStack, ...responses: unknown[]): void {
  const origin = new URL(stack.sandbox.url).host;
  const answers = responses.map((response) => JSON.stringify(response));
  for (const text of [...answers, stack.logs.text()]) {
    expect(text).not.toContain(stack.sandbox.apiKey);
    expect(text).not.toContain(origin);
    expect(text).not.toContain(UPSTREAM_BODY);
  }
  // A stack frame's line break as JSON writes it: a backslash and an `n`.
  for (const text of answers) expect(text).not.toMatch(/\\n\s+at .+:\d+:\d+/);
}

/** Deterministic UUIDs telli does not know (distinct for distinct n). */
export function unknownId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** The `extensions.code` of each error of a GraphQL answer, in order. */
export function codesOf(response: { errors?: readonly { extensions?: Record<string, unknown> }[] }): unknown[] {
  return (response.errors ?? []).map((e) => e.extensions?.['code']);
}
