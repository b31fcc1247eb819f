import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postGraphQL, startLayerProcess, type RunningProcess } from './support/process.js';
import { startRedis, type RedisServer } from './support/redis.js';

/**
 * APQ across instances: two built servers (dist/server.js) with PERSISTED_OPERATIONS=allow sharing
 * a real redis-server. A document registered through one is answered by hash on the other; two
 * instances without Redis do not share (the control); with Redis down, hashes are answered as not
 * found — the client sends the document, which runs — and nothing fails.
 */
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const hashOnly = (query: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });
const withHash = (query: string) => ({ query, ...hashOnly(query) });

describe('APQ registrations shared through Redis', () => {
  const prefix = `apq-e2e-${process.pid}:`;
  let redis: RedisServer;
  let a: RunningProcess;
  let b: RunningProcess;
  let alone: RunningProcess;
  let other: RunningProcess;

  beforeAll(async () => {
    redis = await startRedis();
    const shared = { PERSISTED_OPERATIONS: 'allow', REDIS_URL: redis.url, REDIS_PREFIX: prefix };
    [a, b, alone, other] = await Promise.all([
      startLayerProcess(shared),
      startLayerProcess(shared),
      startLayerProcess({ PERSISTED_OPERATIONS: 'allow' }),
      startLayerProcess({ PERSISTED_OPERATIONS: 'allow' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a, b, alone, other].map((p) => p?.server.stop()));
    await redis?.stop();
  });

  it('a hash registered through one instance is answered by another', async () => {
    const query = 'query SharedThroughRedis { telliService { name } }';
    expect((await postGraphQL(b.graphqlUrl, hashOnly(query))).body.errors?.[0]?.message).toBe('PersistedQueryNotFound');
    const registered = await postGraphQL(a.graphqlUrl, withHash(query));
    expect(registered.body).toEqual({ data: { telliService: { name: 'telli-graphql' } } });
    // Registration does not hold up the answer: wait until Redis has it.
    const client = new Redis(redis.url);
    try {
      for (let i = 0; (await client.exists(`${prefix}apq:${sha256(query)}`)) === 0; i++) {
        if (i > 100) throw new Error('the document never reached Redis');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Keyed by the hash under REDIS_PREFIX, with a TTL (APQ_REDIS_TTL_SECONDS, a day by default).
      expect(await client.get(`${prefix}apq:${sha256(query)}`)).toBe(query);
      expect(await client.ttl(`${prefix}apq:${sha256(query)}`)).toBeGreaterThan(86_000);
    } finally {
      client.disconnect();
    }
    const answered = await postGraphQL(b.graphqlUrl, hashOnly(query));
    expect(answered).toMatchObject({ status: 200, body: registered.body });
  });

  it('instances without Redis do not share registrations (the control)', async () => {
    const query = 'query NotShared { telliService { version } }';
    expect((await postGraphQL(alone.graphqlUrl, withHash(query))).body.data).toBeDefined();
    expect((await postGraphQL(alone.graphqlUrl, hashOnly(query))).body.data).toBeDefined();
    expect((await postGraphQL(other.graphqlUrl, hashOnly(query))).body.errors?.[0]?.message).toBe(
      'PersistedQueryNotFound',
    );
  });

  it('with Redis down, an unknown hash is not found and a document with its hash runs: nothing fails', async () => {
    const seen = 'query SeenBeforeTheOutage { telliService { federation } }';
    await postGraphQL(a.graphqlUrl, withHash(seen));
    await redis.stop();
    try {
      const query = 'query DuringTheOutage { telliService { name version } }';
      const lookup = await postGraphQL(b.graphqlUrl, hashOnly(query));
      expect(lookup).toMatchObject({ status: 200, body: { errors: [{ message: 'PersistedQueryNotFound' }] } });
      const sent = await postGraphQL(b.graphqlUrl, withHash(query));
      expect(sent.status).toBe(200);
      expect(sent.body.data).toBeDefined();
      // What an instance has seen stays in its own memory.
      expect((await postGraphQL(a.graphqlUrl, hashOnly(seen))).body.data).toBeDefined();
    } finally {
      await redis.start();
    }
  });
});
