import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The whole compatibility suite (`npm run test:compat`): the real client libraries and gateways,
 * on their default settings, against the built server. `npm test` runs the files the layer passes;
 * the work that makes another file pass moves it into `npm test` by taking it off
 * vitest.config.ts's `COMPAT_NOT_YET_PASSING`.
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
