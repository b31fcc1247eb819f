import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_QUERY_LIMITS } from '../src/config.js';

const MAX_REQUEST_BODY_BYTES = DEFAULT_QUERY_LIMITS.maxBodyBytes;
import { FEDERATION_LINK } from '../src/schema/index.js';
import { createTestStack, type TestStack } from './support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

describe('Query.telliService', () => {
  it('names this build and its federation spec, without calling telli', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      name: string;
      version: string;
    };
    const res = await stack.raw('{ telliService { name version federation } }');
    expect(res).toEqual({
      data: { telliService: { name: pkg.name, version: pkg.version, federation: FEDERATION_LINK } },
    });
    expect(stack.sandbox.transport.requests).toBe(0);
  });
});

describe('request body limit', () => {
  const post = (body: BodyInit, headers: Record<string, string>) =>
    Promise.resolve(
      stack.app.fetch('http://layer.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
        body,
        // Required for a streaming request body (missing from the DOM typings).
        duplex: 'half',
      } as RequestInit),
    );

  it('refuses a declared Content-Length over the limit with 413, before reading the body', async () => {
    const res = await post('{"query":"{ telliService { name } }"}', {
      'content-length': String(MAX_REQUEST_BODY_BYTES + 1),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
  });

  it('counts a body of unknown length (chunked) as it arrives', async () => {
    const chunk = new Uint8Array(1024 * 1024).fill(0x20); // spaces: valid JSON whitespace
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > MAX_REQUEST_BODY_BYTES) controller.close();
        else controller.enqueue(chunk);
        sent += chunk.byteLength;
      },
    });
    const res = await post(body, {});
    expect(res.status).toBe(413);
  });

  it('accepts an ordinary request with a Content-Length', async () => {
    const body = '{"query":"{ telliService { name } }"}';
    const res = await post(body, { 'content-length': String(Buffer.byteLength(body)) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { telliService: { name: 'telli-graphql' } } });
  });
});
