import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createMemoryLogger } from '../src/logger.js';
import { startServer, type RunningServer } from '../src/server.js';

/** graphql-http's GraphQL-over-HTTP audits against the started server (production wiring, sandbox mode). */
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(parseConfig({ PORT: '0' }), createMemoryLogger('warn').logger);
});
afterAll(() => server.close());

describe('GraphQL over HTTP (graphql-http serverAudits)', () => {
  for (const audit of serverAudits({ url: () => server.graphqlUrl, fetchFn: fetch })) {
    it(`${audit.name}`, async () => {
      const result = await audit.fn();
      if (result.status !== 'ok' && !audit.name.startsWith('MAY')) {
        expect.fail(
          `${result.status}: ${result.reason}${'response' in result ? `\n${JSON.stringify(result.response)}` : ''}`,
        );
      }
    });
  }
});
