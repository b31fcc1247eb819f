import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisContactCache } from '../../src/telli/contacts/redis-cache.js';
import {
  createCoalescingClient,
  createTelliClient,
  type SharedReadsClient,
  type TelliClient,
} from '../../src/telli/index.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { startRedis, type RedisServer } from '../support/redis.js';

/**
 * The contact cache in Redis against a real redis-server and the sandbox: two "instances" (two
 * shared-reads clients on their own connections, as two processes have) with one Redis. The race
 * the versions exist for: a read already at telli when a write lands elsewhere must not put the
 * contact it read before the write back into the cache for everyone.
 */
let redis: RedisServer;
let telli: RunningSandbox;
const connections: Redis[] = [];

const upstreamClient = () =>
  createTelliClient({
    baseUrl: telli.url,
    timeoutMs: 5_000,
    maxConnections: 8,
    maxResponseBytes: 1 << 24,
    maxAttempts: 1,
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 10,
    maxConcurrency: 8,
  });

/** One instance's shared reads: its own Redis connection, the cache under `prefix`. */
function instance(prefix: string, upstream: TelliClient = upstreamClient()): SharedReadsClient {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
  connections.push(client);
  return createCoalescingClient(upstream, {
    ttlMs: 60_000,
    maxEntries: 100,
    redisCache: createRedisContactCache({ client, prefix, ttlMs: 60_000 }),
  });
}

beforeAll(async () => {
  redis = await startRedis();
  telli = await startSandbox({ latencyMs: 0 });
});
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit()));
  await telli?.close();
  await redis?.stop();
});

const firstName = async (client: SharedReadsClient, id: string) => {
  const result = (await client.getContactsBatch([id], { apiKey: telli.apiKey })).get(id);
  if (!result || result instanceof Error) throw new Error(`no contact ${id}`);
  return result.firstName;
};

describe('the contact cache in Redis', () => {
  it('a read at telli while another instance writes does not put the old contact back', async () => {
    const prefix = `race-${process.pid}:`;
    const [one, two] = [instance(prefix), instance(prefix)];
    const id = [...telli.contacts.keys()][5] as string;
    // Instance one's read is answered by telli before instance two renames the contact, and
    // reaches instance one only after the rename.
    const before = telli.contacts.get(id)?.firstName;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let answeredByTelli!: () => void;
    const atTelli = new Promise<void>((resolve) => (answeredByTelli = resolve));
    const slowTelli = upstreamClient();
    const oneSlow = instance(prefix, {
      ...slowTelli,
      getContactsBatch: async (ids, call) => {
        const answer = await slowTelli.getContactsBatch(ids, call);
        answeredByTelli();
        await held;
        return answer;
      },
    });
    const reading = firstName(oneSlow, id);
    // The write starts only once telli has answered the read (no fixed wait: under load a read
    // may take longer than any guess to reach telli).
    await atTelli;
    const written = await two.updateContact(id, { firstName: 'After The Write' }, { apiKey: telli.apiKey });
    expect(written.ok).toBe(true);
    release();
    expect(await reading).toBe(before);

    telli.resetStats();
    // Neither instance serves what the held read stored: the next read asks telli, and is fresh.
    expect(await firstName(one, id)).toBe('After The Write');
    expect(await firstName(oneSlow, id)).toBe('After The Write');
    expect(telli.stats.calls['POST /v1/get-contacts-batch']).toBe(1);
  });

  it('an entry stays under a hash of the telli key, never the key', async () => {
    const prefix = `keys-${process.pid}:`;
    const one = instance(prefix);
    await firstName(one, [...telli.contacts.keys()][6] as string);
    const keys = await (connections[0] as Redis).keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).not.toContain(telli.apiKey);
  });
});
