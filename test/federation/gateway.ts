/**
 * Composes `schema/schema.graphql` with the sample deals subgraph and serves the supergraph with
 * Hive Gateway — the README's worked example (`npm run federation:gateway`) and the tests' gateway.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createGatewayRuntime, type GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { composeServices, compositionHasErrors } from '@theguild/federation-composition';
import { parse } from 'graphql';
import { DEALS_SDL } from './deals-subgraph.js';

export async function readContactsSdl(): Promise<string> {
  return readFile(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
}

export async function composeSupergraph(urls: { contacts: string; deals: string }): Promise<string> {
  const result = composeServices([
    { name: 'contacts', typeDefs: parse(await readContactsSdl()), url: urls.contacts },
    { name: 'deals', typeDefs: parse(DEALS_SDL), url: urls.deals },
  ]);
  if (compositionHasErrors(result)) {
    throw new AggregateError(result.errors, `composition failed: ${result.errors.map((e) => e.message).join('; ')}`);
  }
  return result.supergraphSdl;
}

export async function createGateway(urls: { contacts: string; deals: string }, plugins: GatewayPlugin[] = []) {
  return createGatewayRuntime({
    supergraph: await composeSupergraph(urls),
    logging: false,
    plugins: () => plugins,
    // Subscriptions reach the subgraph over SSE with a POST. The gateway's default, a GET, works
    // too: test/compat/hive-gateway.test.ts runs each of its transports (docs/clients.md).
    transportEntries: { '*.http': { options: { method: 'POST' } } },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const urls = {
    contacts: process.env['CONTACTS_URL'] ?? 'http://127.0.0.1:4000/graphql',
    deals: process.env['DEALS_URL'] ?? 'http://127.0.0.1:4001/graphql',
  };
  const port = Number(process.env['GATEWAY_PORT'] ?? 4002);
  const gateway = await createGateway(urls);
  const server = createServer(gateway);
  server.listen(port, '127.0.0.1', () => {
    const { port: bound } = server.address() as AddressInfo;
    process.stdout.write(`Hive Gateway over contacts + deals: http://127.0.0.1:${bound}/graphql\n`);
  });
  // The gateway runtime listens for SIGINT/SIGTERM itself (to dispose of its transports), and a
  // listener stops Node's default exit: the open server then kept the process alive until a
  // second Ctrl+C. One signal stops it: close the server, dispose of the gateway, exit.
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void Promise.resolve(gateway.dispose()).finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
