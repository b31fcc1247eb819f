import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_CONTACT_ID, startSandbox, type RunningSandbox } from '../src/sandbox/index.js';
import { postGraphQL, startLayerProcess, type RunningProcess } from './support/process.js';

/**
 * What the built server says about its own configuration when it starts: whether telli accepts
 * TELLI_API_KEY (asked once, after listening), and whether a server key is open to the network.
 * A wrong key then answers queries with a code of its own, never the key.
 */
const goodKey = 'tk_live_startup_good_0123456789abcdef';
const wrongKey = 'tk_live_startup_wrong_0123456789abcdef';
const callerToken = 'gateway-token-startup-0123456789abcdef';
const oneContact = { query: `{ contact(id: "${SAMPLE_CONTACT_ID}") { id firstName } }` };
const exposed = (line: Record<string, unknown>) => line['alert'] === 'server-key-exposed';

let telli: RunningSandbox;
const started: RunningProcess[] = [];
async function start(env: Record<string, string>): Promise<RunningProcess> {
  const running = await startLayerProcess(env);
  started.push(running);
  return running;
}

beforeAll(async () => {
  telli = await startSandbox({ apiKeys: [goodKey] });
});
afterAll(async () => {
  await Promise.all(started.map((p) => p.server.stop()));
  await telli?.close();
});

describe('start-up: a TELLI_API_KEY telli rejects', () => {
  let layer: RunningProcess;
  beforeAll(async () => {
    layer = await start({ TELLI_API_KEY: wrongKey, TELLI_BASE_URL: telli.url });
  });

  it('is logged as an error naming TELLI_API_KEY, without the key', async () => {
    const line = await layer.server.waitForLine((l) => l['alert'] === 'telli-server-key-rejected');
    expect(line).toMatchObject({ level: 'error', reason: 'telli rejected the API key (HTTP 401)' });
    expect(line['msg']).toContain('TELLI_API_KEY');
    expect(line['msg']).toContain('TELLI_SERVER_KEY_REJECTED');
    expect(layer.server.stdout() + layer.server.stderr()).not.toContain(wrongKey);
  });

  it('leaves the process up, and answers a query with TELLI_SERVER_KEY_REJECTED, not a masked error', async () => {
    expect((await fetch(`${layer.url}/health`)).status).toBe(200);
    const res = await postGraphQL(layer.graphqlUrl, oneContact);
    expect(res.status).toBe(200);
    expect(res.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['TELLI_SERVER_KEY_REJECTED']);
    expect(res.body.errors?.[0]?.message).not.toContain('Unexpected');
    expect(JSON.stringify(res.body)).not.toContain(wrongKey);
    // The operator hears of it per failed operation too, still without the key.
    await layer.server.waitForLine((l) => l['level'] === 'fatal' && l['alert'] === 'telli-server-key-rejected');
    expect(layer.server.stdout()).not.toContain(wrongKey);
  });

  it('on loopback (the default HOST) gives no exposure warning', async () => {
    await postGraphQL(layer.graphqlUrl, oneContact);
    await layer.server.waitForLine((l) => l['msg'] === 'graphql operation');
    expect(layer.server.lines.filter(exposed)).toEqual([]);
  });
});

describe('start-up: a TELLI_API_KEY telli accepts', () => {
  it('is logged as accepted, with no error', async () => {
    const layer = await start({ TELLI_API_KEY: goodKey, TELLI_BASE_URL: telli.url });
    await layer.server.waitForLine((l) => l['msg'] === 'telli accepted TELLI_API_KEY');
    expect(layer.server.lines.filter((l) => l['level'] === 'error' || l['level'] === 'fatal')).toEqual([]);
    const res = await postGraphQL(layer.graphqlUrl, oneContact);
    expect(res.body).toEqual({ data: { contact: { id: SAMPLE_CONTACT_ID, firstName: 'Ada' } } });
  });
});

describe('start-up: a server key on a non-loopback HOST', () => {
  it('without CALLER_TOKENS is warned about, naming CALLER_TOKENS', async () => {
    const layer = await start({ TELLI_API_KEY: goodKey, TELLI_BASE_URL: telli.url, HOST: '0.0.0.0' });
    const line = await layer.server.waitForLine(exposed);
    expect(line).toMatchObject({ level: 'warn', host: '0.0.0.0' });
    expect(line['msg']).toContain('CALLER_TOKENS');
    expect(layer.server.stdout()).not.toContain(goodKey);
  });

  it('with CALLER_TOKENS is not', async () => {
    const layer = await start({
      TELLI_API_KEY: goodKey,
      TELLI_BASE_URL: telli.url,
      HOST: '0.0.0.0',
      CALLER_TOKENS: callerToken,
    });
    await layer.server.waitForLine((l) => l['msg'] === 'telli accepted TELLI_API_KEY');
    expect(layer.server.lines.filter(exposed)).toEqual([]);
  });

  it('in sandbox mode (demo data, no key of yours) is not', async () => {
    const layer = await start({ HOST: '0.0.0.0' });
    await postGraphQL(layer.graphqlUrl, oneContact);
    await layer.server.waitForLine((l) => l['msg'] === 'graphql operation');
    expect(layer.server.lines.filter(exposed)).toEqual([]);
    // No key of its own to check with telli either.
    expect(layer.server.lines.filter((l) => /telli accepted|check TELLI_API_KEY/.test(String(l['msg'])))).toEqual([]);
  });
});
