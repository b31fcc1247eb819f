import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createLoaders, V2_CONCURRENCY, type Loaders } from '../src/loaders/index.js';
import { createDemoContacts, startSandbox, type RunningSandbox, type SandboxContact } from '../src/sandbox/index.js';
import { createTelliClient, TelliItemError, type TelliClient } from '../src/telli/index.js';
import { unknownId } from './support/stack.js';

/**
 * The per-request loaders in DataLoader's own test style — count the batch calls and the keys in
 * each — with the real telli client against the sandbox over loopback: its counters are the
 * batch function's calls.
 */
const BATCH = 'POST /v1/get-contacts-batch';
const V2_BY_ID = 'GET /v2/contacts/{id}';

let sandbox: RunningSandbox;
let telli: TelliClient;
let contacts: SandboxContact[];
const loaders = (): Loaders => createLoaders(telli, { apiKey: sandbox.apiKey });

beforeAll(async () => {
  sandbox = await startSandbox({ contacts: createDemoContacts(2600), latencyMs: 20 });
  telli = createTelliClient({ ...parseConfig({}).telli, baseUrl: sandbox.url });
  contacts = [...sandbox.contacts.values()];
});
afterAll(async () => {
  await telli.close();
  await sandbox.close();
});
beforeEach(() => sandbox.resetStats());

const idAt = (n: number) => (contacts[n] as SandboxContact).id;

describe('contactById', () => {
  it('batches the keys of one tick into one call, deduplicated, answered in key order', async () => {
    const { contactById } = loaders();
    const keys = [idAt(0), idAt(1), idAt(0), idAt(2)];
    const results = await Promise.all(keys.map((id) => contactById.load(id)));
    expect(results.map((c) => c?.id)).toEqual(keys);
    expect(sandbox.stats.calls).toEqual({ [BATCH]: 1 });
    expect(sandbox.stats.batchSizes).toEqual([3]);
  });

  it('memoises per loader: a key asked again costs no call; a new loader asks again', async () => {
    const first = loaders();
    await first.contactById.load(idAt(3));
    await first.contactById.load(idAt(3));
    expect(sandbox.stats.batchSizes).toEqual([1]);
    await loaders().contactById.load(idAt(3));
    expect(sandbox.stats.batchSizes).toEqual([1, 1]);
  });

  it('splits more than 1000 distinct keys into calls of at most 1000', async () => {
    const { contactById } = loaders();
    const keys = contacts.slice(0, 2500).map((c) => c.id);
    const results = await contactById.loadMany(keys);
    expect(results.every((r, i) => !(r instanceof Error) && r?.id === keys[i])).toBe(true);
    expect(sandbox.stats.calls).toEqual({ [BATCH]: 3 });
    expect([...sandbox.stats.batchSizes].sort((a, b) => a - b)).toEqual([500, 1000, 1000]);
  });

  it('answers null for a key telli does not know and an Error only for the key telli failed', async () => {
    const { contactById } = loaders();
    sandbox.setItemError(idAt(5), 'Internal error while loading contact');
    try {
      const [known, missing, failed] = await contactById.loadMany([idAt(4), unknownId(1), idAt(5)]);
      expect(known).toMatchObject({ id: idAt(4) });
      expect(missing).toBeNull();
      expect(failed).toBeInstanceOf(TelliItemError);
      expect(sandbox.stats.batchSizes).toEqual([3]);
    } finally {
      sandbox.setItemError(idAt(5), undefined);
    }
  });
});

describe('contactByExternalId', () => {
  it('resolves each external id, then fetches the records in one batch call', async () => {
    const { contactByExternalId } = loaders();
    const withExternal = contacts.filter((c) => c.externalId !== null).slice(0, 3);
    const results = await Promise.all(withExternal.map((c) => contactByExternalId.load(c.externalId as string)));
    expect(results.map((c) => c?.id)).toEqual(withExternal.map((c) => c.id));
    expect(sandbox.stats.calls).toEqual({ 'GET /v1/get-contact-by-external-id': 3, [BATCH]: 1 });
    expect(sandbox.stats.batchSizes).toEqual([3]);
  });

  it('answers null for an external id telli does not know, with no batch call for it', async () => {
    const { contactByExternalId } = loaders();
    expect(await contactByExternalId.load('no such external id')).toBeNull();
    expect(sandbox.stats.calls).toEqual({ 'GET /v1/get-contact-by-external-id': 1 });
  });
});

describe('contactV2ById', () => {
  it(`makes one call per distinct key, at most ${V2_CONCURRENCY} in flight`, async () => {
    const { contactV2ById } = loaders();
    const keys = contacts.slice(0, 20).map((c) => c.id);
    const results = await Promise.all([...keys, ...keys].map((id) => contactV2ById.load(id)));
    expect(results.map((c) => c?.id)).toEqual([...keys, ...keys]);
    expect(sandbox.stats.calls).toEqual({ [V2_BY_ID]: 20 });
    expect(sandbox.transport.maxInFlight).toBeLessThanOrEqual(V2_CONCURRENCY);
  });
});

describe('contactsPageV2', () => {
  it('reads the same page once per loader, and each distinct page once', async () => {
    const { contactsPageV2 } = loaders();
    const [a, b, c] = await Promise.all([
      contactsPageV2.load({ limit: 10, cursor: null }),
      contactsPageV2.load({ limit: 10, cursor: null }),
      contactsPageV2.load({ limit: 20, cursor: null }),
    ]);
    expect(a).toBe(b);
    expect(a.contacts).toHaveLength(10);
    expect(c.contacts).toHaveLength(20);
    expect(sandbox.stats.calls).toEqual({ 'GET /v2/contacts': 2 });
  });
});
