import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { Cancellation, TelliContractError, TelliNetworkError, TelliTimeoutError } from '../../src/telli/index.js';
import { RETRY, retryReason, type AttemptOutcome, type RetryPolicy } from '../../src/telli/transport/retry-policy.js';
import { createTransport } from '../../src/telli/transport/transport.js';

/**
 * The retry policies the endpoints name (src/telli/transport/retry-policy.ts), decision by
 * decision, and the transport applying an endpoint's own policy. The behaviour through the layer
 * is in test/resilience.test.ts (reads) and test/writes-retry.test.ts (writes).
 */
const E = 'GET /test';
const sent = { mayHaveReachedTelli: true };
const notSent = { mayHaveReachedTelli: false };

/** Each outcome an attempt can end with, and whether each kind of call may be sent again after it. */
const DECISIONS: [string, AttemptOutcome, { repeatable: boolean; acting: boolean }][] = [
  ['429', { status: 429 }, { repeatable: true, acting: true }],
  ['502', { status: 502 }, { repeatable: true, acting: false }],
  ['503', { status: 503 }, { repeatable: true, acting: false }],
  ['504', { status: 504 }, { repeatable: true, acting: false }],
  ['500', { status: 500 }, { repeatable: false, acting: false }],
  ['400', { status: 400 }, { repeatable: false, acting: false }],
  ['200', { status: 200 }, { repeatable: false, acting: false }],
  ['a reset after sending', new TelliNetworkError(E, 'ECONNRESET', sent), { repeatable: true, acting: false }],
  ['refused, not sent', new TelliNetworkError(E, 'ECONNREFUSED', notSent), { repeatable: true, acting: true }],
  ['a timeout after sending', new TelliTimeoutError(E, 100, sent), { repeatable: false, acting: false }],
  ['a timeout before sending', new TelliTimeoutError(E, 100, notSent), { repeatable: true, acting: true }],
  ['an unreadable answer', new TelliContractError(E, ['body is not valid JSON']), { repeatable: false, acting: false }],
];

describe('the policies', () => {
  // `repeatable`: reads, lookups and idempotent writes are sent again after it; `acting`: creates
  // and dialer calls are too (telli certainly did not act on the attempt).
  it.each(DECISIONS)('after %s', (_name, outcome, expected) => {
    const again = (policy: RetryPolicy) => retryReason(outcome, policy) !== undefined;
    expect(again(RETRY.read)).toBe(expected.repeatable);
    expect(again(RETRY.lookup)).toBe(expected.repeatable);
    expect(again(RETRY.idempotentWrite)).toBe(expected.repeatable);
    expect(again(RETRY.create)).toBe(expected.acting);
    expect(again(RETRY.dialer)).toBe(expected.acting);
  });

  it('a request never sent is not sent again once the caller has given up', () => {
    const gone = new Cancellation();
    gone.abort();
    const refused = new TelliNetworkError(E, 'ECONNREFUSED', notSent);
    expect(retryReason(refused, RETRY.create)).toBe('ECONNREFUSED (not sent)');
    expect(retryReason(refused, RETRY.create, gone)).toBeUndefined();
  });

  it('say what a lost answer means: reads none, PATCH/DELETE safe to repeat, creates and dialer calls not', () => {
    expect([RETRY.read, RETRY.lookup, RETRY.idempotentWrite, RETRY.create, RETRY.dialer].map((p) => p.effect)).toEqual([
      'read',
      'read',
      'idempotent-write',
      'write',
      'write',
    ]);
  });
});

describe("the transport applies the call's own policy", () => {
  let server: Server;
  let requests = 0;
  let baseUrl: string;
  beforeAll(async () => {
    // telli answering 503 to everything.
    server = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const attemptsWith = async (retry: RetryPolicy) => {
    const transport = createTransport({
      ...parseConfig({}).telli,
      baseUrl,
      maxAttempts: 3,
      retryBaseDelayMs: 1,
      retryMaxDelayMs: 2,
    });
    requests = 0;
    try {
      const response = await transport.send(E, 'GET', '/test', { apiKey: 'k' }, retry);
      expect(response.status).toBe(503);
      return requests;
    } finally {
      await transport.close();
    }
  };

  it("the client's attempts by default, the policy's own when it names them", async () => {
    expect(await attemptsWith(RETRY.read)).toBe(3);
    expect(await attemptsWith({ ...RETRY.read, maxAttempts: 1 })).toBe(1);
    expect(await attemptsWith({ ...RETRY.read, maxAttempts: 5 })).toBe(5);
  });

  it('only the statuses the policy lists', async () => {
    expect(await attemptsWith({ ...RETRY.read, statuses: new Set([429]) })).toBe(1);
  });
});
