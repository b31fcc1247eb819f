import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The compatibility suite (`npm run test:compat`): the real client libraries and gateways, on their
 * default settings, against the built server. Kept out of `npm test` while the layer does not yet
 * speak what they expect (issue 22); the work that makes a file pass moves it into `npm test` by
 * removing the exclusion from vitest.config.ts.
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
