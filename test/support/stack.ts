import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import { createApp, type App } from '../../src/app.js';
import { createMemoryLogger } from '../../src/logger.js';
import { startSandbox, type RunningSandbox, type StartSandboxOptions } from '../../src/sandbox/index.js';
import { createTelliClient, type TelliClient } from '../../src/telli/index.js';

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
  raw(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse>;
  close(): Promise<void>;
}

/**
 * The production wiring (`createApp` + the real telli client) against the sandbox served over
 * loopback HTTP. Nothing is mocked: upstream calls are counted by the sandbox itself.
 */
export async function createTestStack(
  options: { sandbox?: StartSandboxOptions; timeoutMs?: number } = {},
): Promise<TestStack> {
  const sandbox = await startSandbox(options.sandbox);
  const telli = createTelliClient({ baseUrl: sandbox.url, timeoutMs: options.timeoutMs ?? 5000 });
  const logs = createMemoryLogger('debug');
  const app = createApp({ telli, apiKey: sandbox.apiKey, logger: logs.logger });

  async function post(body: unknown): Promise<GraphQLResponse> {
    const response = await app.fetch('http://layer.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as GraphQLResponse;
  }

  return {
    sandbox,
    telli,
    app,
    logs,
    run: (document, variables) => post({ query: print(document), variables }) as never,
    raw: (query, variables) => post({ query, variables }),
    async close() {
      await telli.close();
      await sandbox.close();
    },
  };
}

/** Deterministic UUIDs telli does not know (distinct for distinct n). */
export function unknownId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export function codesOf(response: GraphQLResponse): unknown[] {
  return (response.errors ?? []).map((e) => e.extensions?.['code']);
}
