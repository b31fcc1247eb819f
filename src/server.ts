import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createLayer, type Layer } from './app.js';
import { ConfigError, parseConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { SAMPLE_CONTACT_ID } from './sandbox/index.js';

/**
 * The entry point: parse the environment, build the layer with the same `createLayer` the tests
 * use, listen, and shut down gracefully on SIGTERM/SIGINT.
 */
export interface RunningServer {
  /** e.g. `http://127.0.0.1:4000` */
  url: string;
  graphqlUrl: string;
  layer: Layer;
  /** Stops accepting, lets in-flight requests finish, closes upstream connections. */
  close(): Promise<void>;
}

/** Binds the layer's edge to `node:http` and announces where it listens. */
export async function serve(layer: Layer, config: Config, logger: Logger): Promise<RunningServer> {
  const server: Server = createServer();
  let serving = false;
  // In-flight requests, so that shutdown can wait for exactly those.
  let inFlight = 0;
  let drained: (() => void) | undefined;
  server.on('request', (req, res) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
    if (!serving) res.setHeader('connection', 'close');
    void layer.edge(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  serving = true;
  layer.setServing(true);
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  const graphqlUrl = `${url}/graphql`;

  if (layer.sandbox) {
    logger.info(
      {
        mode: 'sandbox',
        graphiql: graphqlUrl,
        sampleContactId: SAMPLE_CONTACT_ID,
        contacts: layer.sandbox.contacts.size,
      },
      `sandbox mode (no TELLI_API_KEY): demo data from the embedded telli emulator. GraphiQL: ${graphqlUrl} — sample contact id ${SAMPLE_CONTACT_ID}`,
    );
  } else {
    const forward = config.telli.mode === 'forward';
    logger.info(
      {
        mode: 'telli',
        auth: forward ? 'forward' : 'server',
        graphql: graphqlUrl,
        telliBaseUrl: layer.telliBaseUrl,
        callerAuth: config.callerAuth.tokens.length > 0,
        introspection: config.introspection,
      },
      `serving telli contacts at ${graphqlUrl} (${forward ? "callers' own telli keys" : 'server key'})`,
    );
  }

  return {
    url,
    graphqlUrl,
    layer,
    async close() {
      // Stop accepting and turn /readiness to 503; let in-flight requests finish within the grace
      // period (idle keep-alive sockets are closed now, busy ones after their response); then cut
      // whatever is left, and close upstream connections.
      serving = false;
      layer.setServing(false);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        const finished = new Promise<void>((resolve) => (drained = resolve));
        const grace = new Promise<'timeout'>((resolve) =>
          setTimeout(resolve, config.shutdownGraceMs, 'timeout').unref(),
        );
        if ((await Promise.race([finished, grace])) === 'timeout') {
          logger.warn({ inFlight }, 'shutdown grace period over; closing remaining connections');
        }
      }
      server.closeAllConnections();
      await closed;
      await layer.close();
    },
  };
}

/** `createLayer` + `serve`: what `main` runs. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  return serve(await createLayer(config, { logger }), config, logger);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`telli-graphql: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // Buffered, asynchronous stdout: an access-log line per request must not cost a blocking write.
  const destination = pino.destination({ dest: 1, sync: false });
  const logger = createLogger({ level: config.logLevel, destination });
  const running = await startServer(config, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    running.close().then(
      () => {
        destination.flushSync();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        destination.flushSync();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`telli-graphql: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
