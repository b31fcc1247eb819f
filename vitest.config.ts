import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS and ESM builds; Node (and so graphql-yoga, loaded from node_modules)
    // resolves the CJS one. Source files must use the same instance, or `instanceof GraphQLError`
    // fails and expected errors get masked.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    // test/compat/ included: the real client libraries and gateways, on their default settings,
    // against the built server (`npm run test:compat` runs them alone).
    include: ['test/**/*.test.ts'],
    // Builds dist/server.js once per run; the process tests run that artifact.
    globalSetup: ['test/support/build.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Suites start real servers on loopback; run files one at a time on this 2-core machine.
    fileParallelism: false,
  },
});
