import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { Tracer } from '@opentelemetry/api';
import { print, type ExecutionResult } from 'graphql';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createApp, type App, type AppDeps } from '../../src/app.js';
import { createMetrics, type MetricsOptions } from '../../src/metrics.js';
import { createMemoryLogger } from '../../src/logger.js';
import {
  startSandbox,
  type RunningSandbox,
  type SandboxContact,
  type StartSandboxOptions,
} from '../../src/sandbox/index.js';
import {
  createTelliClient,
  type ContactCacheOptions,
  type TelliClient,
  type TelliClientOptions,
} from '../../src/telli/index.js';

export interface GraphQLResponse<T = Record<string, unknown>> extends ExecutionResult<T> {
  errors?: ExecutionResult['errors'] &
    { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface TestStack {
  sandbox: RunningSandbox;
  telli: TelliClient;
  app: App;
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
 * The production wiring (`createApp` + the real telli client) against the sandbox served over
 * loopback HTTP. Nothing is mocked: upstream calls are counted by the sandbox itself.
 */
export interface TestStackOptions {
  sandbox?: StartSandboxOptions;
  /** Client settings; defaults keep retries fast (base delay 10 ms). */
  client?: Partial<Omit<TelliClientOptions, 'baseUrl'>>;
  /** `forward`: callers send their own telli key. */
  auth?: 'server' | 'forward';
  requestDeadlineMs?: number;
  /** Server-key mode: the key the layer sends (defaults to the sandbox's own). */
  serverApiKey?: string;
  /** Further app options (limits, caller auth, introspection, CSRF, readiness). */
  app?: Partial<Omit<AppDeps, 'telli' | 'auth' | 'logger' | 'metrics'>>;
  /** Wire Prometheus metrics into the client and app, as production does (`true`, or its options). */
  metrics?: boolean | MetricsOptions;
  /** OpenTelemetry tracer for the client and the app, as production wires it. */
  tracer?: Tracer;
  /** The shared contact cache (off by default, as in production). */
  contactCache?: ContactCacheOptions;
}

export async function createTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const sandbox = await startSandbox(options.sandbox);
  const metrics = options.metrics ? createMetrics(options.metrics === true ? {} : options.metrics) : undefined;
  const telli = createTelliClient({
    ...(metrics && { hooks: metrics.telliHooks }),
    ...(options.tracer && { tracer: options.tracer }),
    baseUrl: sandbox.url,
    timeoutMs: 5000,
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 50,
    ...options.client,
  });
  const logs = createMemoryLogger('debug');
  const app = createApp({
    telli,
    auth:
      options.auth === 'forward'
        ? { mode: 'forward' }
        : { mode: 'server', apiKey: options.serverApiKey ?? sandbox.apiKey },
    logger: logs.logger,
    ...(options.requestDeadlineMs !== undefined && { requestDeadlineMs: options.requestDeadlineMs }),
    ...(metrics && { metrics }),
    ...(options.tracer && { tracer: options.tracer }),
    ...options.app,
    ...(options.contactCache && { contactCache: options.contactCache }),
  });

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
    telli,
    app,
    logs,
    run: (document, variables) => post({ query: print(document), variables }) as never,
    raw: (query, variables, headers) => post({ query, variables }, headers),
    http: (query, headers) => http({ query }, headers),
    async close() {
      await telli.close();
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

/** Deterministic UUIDs telli does not know (distinct for distinct n). */
export function unknownId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export function codesOf(response: GraphQLResponse): unknown[] {
  return (response.errors ?? []).map((e) => e.extensions?.['code']);
}
