import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS and ESM builds; Node (and so graphql-yoga, loaded from node_modules)
    // resolves the CJS one. Source files must use the same instance, or `instanceof GraphQLError`
    // fails and expected errors get masked.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The compatibility suite's files join `npm test` as the layer passes them (issue 22); the
    // rest run with `npm run test:compat` (vitest.compat.config.ts) until then.
    exclude: [
      ...configDefaults.exclude,
      'test/compat/apollo-client.test.ts',
      'test/compat/composition.test.ts',
      'test/compat/relay.test.ts',
    ],
    // Builds dist/server.js once per run; the process tests run that artifact.
    globalSetup: ['test/support/build.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Suites start real servers on loopback; run files one at a time on this 2-core machine.
    fileParallelism: false,
  },
});
