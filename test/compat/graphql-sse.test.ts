/**
 * Server-sent events as clients speak them: the graphql-sse client on its defaults ("distinct
 * connections" mode: one POST per subscription, `Accept: text/event-stream`), and a browser's
 * `EventSource` (undici's, which implements the WHATWG spec): a GET with the operation in the
 * query string and no header it could add.
 */
import { createClient } from 'graphql-sse';
import { EventSource } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openSubscriptions,
  startTelliLayer,
  STATUS_CHANGED,
  until,
  type StatusChangedData,
  type TelliLayer,
} from './support.js';

let telli: TelliLayer;
beforeAll(async () => {
  telli = await startTelliLayer();
});
afterAll(async () => {
  await telli?.close();
});

describe('graphql-sse client (default: distinct connections)', () => {
  it('receives a status change, and the server forgets the subscription when the client leaves', async () => {
    const contact = telli.contacts[13]!;
    const client = createClient({ url: telli.layer.graphqlUrl, retryAttempts: 0 });
    const results: unknown[] = [];
    const errors: unknown[] = [];
    const unsubscribe = client.subscribe<StatusChangedData>(
      { query: STATUS_CHANGED, variables: { ids: [contact.id] } },
      { next: (r) => results.push(r), error: (e) => errors.push(e), complete: () => undefined },
    );
    try {
      await until(
        async () => errors.length > 0 || (await openSubscriptions(telli.layer)) === 1,
        'the subscription to open',
      );
      expect(errors.map(String)).toEqual([]);
      await telli.statusChanged(contact.id, 'new');
      await until(() => results.length > 0 || errors.length > 0, 'the first event');
      expect(results[0]).toEqual({
        data: {
          contactStatusChanged: { contact: { id: contact.id, firstName: contact.firstName }, webhookStatus: 'new' },
        },
      });
    } finally {
      unsubscribe();
      client.dispose();
    }
    await until(async () => (await openSubscriptions(telli.layer)) === 0, 'the subscription to close');
  });
});

describe("a browser's EventSource (GET, no custom header)", () => {
  it('a subscription over GET streams events', async () => {
    const contact = telli.contacts[14]!;
    const url = new URL(telli.layer.graphqlUrl);
    url.searchParams.set('query', STATUS_CHANGED);
    url.searchParams.set('variables', JSON.stringify({ ids: [contact.id] }));
    const source = new EventSource(url);
    const events: unknown[] = [];
    const failures: string[] = [];
    source.addEventListener('next', (event) => events.push(JSON.parse((event as MessageEvent<string>).data)));
    source.onerror = () => failures.push(`error (readyState ${source.readyState})`);
    try {
      await until(
        async () => failures.length > 0 || (await openSubscriptions(telli.layer)) === 1,
        'the subscription to open',
      );
      expect(failures).toEqual([]);
      await telli.statusChanged(contact.id, 'new');
      await until(() => events.length > 0 || failures.length > 0, 'the first event');
      expect(events[0]).toEqual({
        data: {
          contactStatusChanged: { contact: { id: contact.id, firstName: contact.firstName }, webhookStatus: 'new' },
        },
      });
    } finally {
      source.close();
    }
  });

  it("EventSource's exact request (Accept: text/event-stream, Cache-Control: no-cache) is answered 200 with a stream", async () => {
    // EventSource reports only "error"; this shows the status and body behind it.
    const contact = telli.contacts[14]!;
    const url = new URL(telli.layer.graphqlUrl);
    url.searchParams.set('query', STATUS_CHANGED);
    url.searchParams.set('variables', JSON.stringify({ ids: [contact.id] }));
    const controller = new AbortController();
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', 'cache-control': 'no-cache' },
      signal: controller.signal,
    });
    try {
      expect({ status: res.status, body: res.status === 200 ? '' : await res.text() }).toEqual({
        status: 200,
        body: '',
      });
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    } finally {
      controller.abort();
    }
  });
});
