/**
 * Hive Gateway in front of the built server and the sample deals subgraph, with each transport a
 * gateway uses to take a subgraph's subscriptions: SSE with a GET (Hive Gateway's default, and
 * Cosmo Router's `sse` mode), SSE with a POST, WebSocket (`graphql-transport-ws`: Apollo Router's
 * and Cosmo's default) and Apollo's HTTP callback protocol (Apollo Router's `callback` mode). Each
 * is configured as the gateway's documentation shows, nothing more.
 */
import { createGatewayRuntime, type GatewayConfigSupergraph } from '@graphql-hive/gateway-runtime';
import { MemPubSub } from '@graphql-hive/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDealsSubgraph } from '../federation/deals-subgraph.js';
import { composeSupergraph } from '../federation/gateway.js';
import { subscribe } from '../support/sse.js';
import { listen, openSubscriptions, startTelliLayer, STATUS_CHANGED, until, type TelliLayer } from './support.js';

let telli: TelliLayer;
let deals: Awaited<ReturnType<typeof listen>>;
let supergraph: string;
beforeAll(async () => {
  telli = await startTelliLayer();
  deals = await listen(createDealsSubgraph());
  supergraph = await composeSupergraph({ contacts: telli.layer.graphqlUrl, deals: `${deals.url}/graphql` });
});
afterAll(async () => {
  await deals?.close();
  await telli?.close();
});

type Transport = Pick<GatewayConfigSupergraph, 'transportEntries' | 'pubsub' | 'webhooks'>;

/** Serves a gateway over the supergraph; `configure` gets the gateway's own URL (for callbacks). */
async function withGateway(configure: (gatewayUrl: string) => Transport, run: (graphqlUrl: string) => Promise<void>) {
  const served = await listen();
  const gateway = createGatewayRuntime({ supergraph, logging: false, ...configure(served.url) });
  served.server.on('request', gateway);
  try {
    await run(`${served.url}/graphql`);
  } finally {
    await served.close();
    await gateway.dispose();
  }
}

/** A client subscribes through the gateway; a webhook at the layer must reach it. */
async function eventReachesGatewayClient(graphqlUrl: string, contactIndex: number) {
  const contact = telli.contacts[contactIndex]!;
  const sub = await subscribe(fetch, graphqlUrl, STATUS_CHANGED, { ids: [contact.id] });
  try {
    expect(sub.status).toBe(200);
    // The gateway subscribes to the layer once its client has; an error frame arrives instead
    // when the gateway's subgraph subscription was refused.
    const firstFrame = sub.next(20_000);
    const opened = await Promise.race([
      firstFrame.then(() => false),
      until(async () => (await openSubscriptions(telli.layer)) === 1, 'the gateway to subscribe', 15_000).then(
        () => true,
      ),
    ]);
    if (!opened) expect((await firstFrame).errors).toBeUndefined();
    await telli.statusChanged(contact.id, 'new');
    const frame = await firstFrame;
    expect(frame).toEqual({
      data: {
        contactStatusChanged: { contact: { id: contact.id, firstName: contact.firstName }, webhookStatus: 'new' },
      },
    });
  } finally {
    await sub.close();
  }
  await until(async () => (await openSubscriptions(telli.layer)) === 0, 'the subgraph subscription to end');
}

describe('Hive Gateway subgraph subscriptions, per transport', () => {
  it('SSE with a GET (the default transport: no transport configuration)', async () => {
    await withGateway(
      () => ({}),
      (url) => eventReachesGatewayClient(url, 20),
    );
  });

  it('SSE with a POST (`*.http: { options: { method: "POST" } }`)', async () => {
    await withGateway(
      () => ({ transportEntries: { '*.http': { options: { method: 'POST' } } } }),
      (url) => eventReachesGatewayClient(url, 21),
    );
  });

  it('WebSocket (@graphql-mesh/transport-ws: `subscriptions: { kind: "ws" }`)', async () => {
    await withGateway(
      () => ({ transportEntries: { contacts: { options: { subscriptions: { kind: 'ws' } } } } }),
      (url) => eventReachesGatewayClient(url, 22),
    );
  });

  it('HTTP callback (@graphql-mesh/transport-http-callback: Apollo callback protocol 1.0)', async () => {
    await withGateway(
      (gatewayUrl) => ({
        pubsub: new MemPubSub(),
        webhooks: true,
        transportEntries: {
          contacts: {
            options: {
              subscriptions: {
                kind: 'http-callback',
                options: { public_url: `${gatewayUrl}/callback`, path: '/callback' },
              },
            },
          },
        },
      }),
      (url) => eventReachesGatewayClient(url, 23),
    );
  });
});
