import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/index.js';
import { startLayerProcess, startProbe, type RunningProcess } from './support/process.js';

/**
 * The GraphiQL page of the process `npm start` runs: ~9 MB of self-hosted HTML, built once,
 * served compressed and revalidated by ETag — so that a crowd of newcomers opening it costs the
 * server next to nothing, and `/health` keeps answering. (Before: ~300 ms of CPU per load,
 * uncompressed; 16 clients took /health to 3.4 s.) Served without a caller token, as the page
 * carries no data.
 */
interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET over node:http, which (unlike fetch) leaves the body as sent: encoded. */
function get(url: string, headers: Record<string, string>): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  // utime and stime, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const html = { accept: 'text/html' };

describe('the GraphiQL page', () => {
  const key = 'tk_live_graphiql_0123456789abcdef';
  const token = 'gateway-token-graphiql-0123456789abc';
  let telli: RunningSandbox;
  let layer: RunningProcess;
  beforeAll(async () => {
    telli = await startSandbox({ apiKeys: [key] });
    layer = await startLayerProcess({ TELLI_API_KEY: key, TELLI_BASE_URL: telli.url, CALLER_TOKENS: token });
  });
  afterAll(async () => {
    await layer?.server.stop();
    await telli?.close();
  });

  it('is one page in every encoding, compressed when the client accepts it, and revalidated by ETag', async () => {
    // 16 newcomers at once, with nothing cached: /health keeps answering meanwhile.
    const pid = layer.server.child.pid as number;
    const probe = startProbe(`${layer.url}/health`);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the probe is polling
    const cpu0 = await cpuMs(pid);
    const t0 = performance.now();
    const crowd = await Promise.all(
      Array.from({ length: 16 }, () => get(layer.graphqlUrl, { ...html, 'accept-encoding': 'gzip, deflate, br' })),
    );
    const crowdMs = performance.now() - t0;
    const cpuFirst = (await cpuMs(pid)) - cpu0;
    // Sixteen more, once the page is built.
    const cpu1 = await cpuMs(pid);
    const again = await Promise.all(
      Array.from({ length: 16 }, () => get(layer.graphqlUrl, { ...html, 'accept-encoding': 'br' })),
    );
    const cpuAgain = (await cpuMs(pid)) - cpu1;
    const probes = await probe.stop();

    const [first] = crowd as [Raw];
    const page = (first.headers['content-encoding'] === 'br' ? brotliDecompressSync : gunzipSync)(first.body);
    expect(page.toString('utf8')).toContain('YogaGraphiQL.renderYogaGraphiQL');
    for (const res of [...crowd, ...again]) {
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['vary']).toBe('accept-encoding');
      expect(res.headers['etag']).toBe(first.headers['etag']);
      expect(['br', 'gzip']).toContain(res.headers['content-encoding']);
    }
    for (const res of again) {
      expect(res.headers['content-encoding']).toBe('br');
      expect(brotliDecompressSync(res.body).equals(page)).toBe(true);
    }
    const identity = await get(layer.graphqlUrl, html);
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.body.equals(page)).toBe(true);
    const gzipped = await get(layer.graphqlUrl, { ...html, 'accept-encoding': 'gzip' });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzipped.body).equals(page)).toBe(true);

    // A browser that has it asks whether it changed: no body.
    const revalidated = await get(layer.graphqlUrl, {
      ...html,
      'accept-encoding': 'br',
      'if-none-match': String(first.headers['etag']),
    });
    expect(revalidated.status).toBe(304);
    expect(revalidated.body.length).toBe(0);

    process.stdout.write(
      `GraphiQL: ${(page.length / 1e6).toFixed(1)} MB page, br ${(again[0]?.body.length ?? 0) / 1e6} MB, gzip ${gzipped.body.length / 1e6} MB; ` +
        `16 cold loads in ${Math.round(crowdMs)} ms (${cpuFirst} ms CPU, the build included), 16 more ${cpuAgain} ms CPU; ` +
        `/health max ${Math.round(Math.max(...probes))} ms over ${probes.length} probes\n`,
    );
    expect(Math.max(...probes)).toBeLessThan(1000);
  });

  it('needs no caller token (it carries no data), while operations do', async () => {
    const page = await get(layer.graphqlUrl, html);
    expect(page.status).toBe(200);
    const query = await get(`${layer.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}`, {
      accept: 'application/json',
      'x-graphql-yoga-csrf': '1',
    });
    expect(query.status).toBe(401);
  });
});
