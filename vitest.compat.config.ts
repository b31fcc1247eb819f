import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The compatibility suite alone (`npm run test:compat`): the real client libraries and gateways,
 * on their default settings, against the built server. `npm test` runs it too.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/compat/**/*.test.ts'],
    exclude: configDefaults.exclude,
    testTimeout: 30_000,
  },
});
