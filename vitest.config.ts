import { configDefaults, defineConfig } from 'vitest/config';

/** Compatibility test files the layer does not pass yet: each leaves this list once it does. */
const COMPAT_NOT_YET_PASSING = [
  'test/compat/apollo-client.test.ts', // multipart subscriptions
  'test/compat/graphql-sse.test.ts', // EventSource's GET
  'test/compat/graphql-ws.test.ts',
  'test/compat/hive-gateway.test.ts', // SSE GET, WebSocket, HTTP callback transports
  'test/compat/router-cache.test.ts', // Cache-Control
  'test/compat/urql.test.ts', // queries as GET
];

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS and ESM builds; Node (and so graphql-yoga, loaded from node_modules)
    // resolves the CJS one. Source files must use the same instance, or `instanceof GraphQLError`
    // fails and expected errors get masked.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The compatibility suite (test/compat/) runs here file by file as the layer passes it; the
    // files it does not pass yet run with `npm run test:compat` only (issue 22).
    exclude: [...configDefaults.exclude, ...COMPAT_NOT_YET_PASSING],
    // Builds dist/server.js once per run; the process tests run that artifact.
    globalSetup: ['test/support/build.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Suites start real servers on loopback; run files one at a time on this 2-core machine.
    fileParallelism: false,
  },
});
