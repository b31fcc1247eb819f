import { createServer, type IncomingMessage, type Server } from 'node:http';
import { isIPv4, type AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createLayer, type Layer } from './app.js';
import { ROUTES } from './http/edge.js';
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
  /**
   * Graceful stop: `/readiness` turns 503 at once; with `drain`, the server keeps answering for
   * `SHUTDOWN_DRAIN_MS` (so load balancers see it leave); then it stops accepting, lets in-flight
   * requests finish within `SHUTDOWN_GRACE_MS` and closes upstream connections.
   */
  close(options?: { drain?: boolean }): Promise<void>;
}

/**
 * Pending connections the kernel may queue for us. Node's default (511) overflows under a burst
 * of clients, and an overflowing queue drops the SYNs of probes too (retried only after 1 s);
 * Linux caps it at `net.core.somaxconn`.
 */
const LISTEN_BACKLOG = 4096;

/**
 * Which upgrade requests the 'upgrade' listener takes: WebSocket handshakes only. Any other
 * `Upgrade` (`h2c`: Java's default `HttpClient` and `curl --http2` send it on every plain-http
 * request) is a request like any other, which a server may answer without switching protocols
 * (RFC 9110 §7.8). Node ≥ 22.21 / 24.9 reads this option (@types/node does not know it yet, hence
 * the spread); on an older Node every upgrade reaches the edge, which refuses a non-WebSocket one
 * with 400.
 */
const ONLY_WEBSOCKET_UPGRADES = {
  shouldUpgradeCallback: (req: IncomingMessage) =>
    (req.headers.upgrade ?? '').split(',').some((protocol) => protocol.trim().toLowerCase() === 'websocket'),
};

/** Binds the layer's edge to `node:http` and announces where it listens. */
export async function serve(layer: Layer, config: Config, logger: Logger): Promise<RunningServer> {
  const server: Server = createServer({
    ...ONLY_WEBSOCKET_UPGRADES,
    // A request whose headers or body trickle in must not hold an admission slot forever: nothing
    // is answered after REQUEST_DEADLINE_MS anyway.
    requestTimeout: config.requestDeadlineMs + 1000,
    headersTimeout: Math.min(60_000, config.requestDeadlineMs + 1000),
    // How often node:http enforces those two (its default, 30 s, would let them slip that long).
    connectionsCheckingInterval: 1000,
  });
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
    layer.edge.listener(req, res);
  });
  // GraphQL over WebSocket; without this listener node would serve an upgrade as a plain request.
  server.on('upgrade', (req, socket, head: Buffer) => layer.edge.upgrade(req, socket, head));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => resolve());
  });
  serving = true;
  layer.setServing(true);
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  const graphqlUrl = `${url}${ROUTES.graphql}`;
  layer.listening(url);

  if (layer.sandbox) {
    // Said once here: each webhook the dialer sends is logged at debug only, and the GraphiQL
    // line below stays the last thing on screen.
    if (layer.sandbox.webhooks && config.telli.mode === 'sandbox') {
      const { sandboxCallMs: callMs, sandboxAutopilotMs: autopilotMs } = config.telli;
      const autopilot = autopilotMs > 0 ? layer.sandbox.autopilotContactId : undefined;
      logger.info(
        { dialer: 'running', callMs, ...(autopilot && { autopilotContactId: autopilot, autopilotMs }) },
        `sandbox dialer running: a scheduled call is placed ${callMs} ms later and ends ${callMs} ms after that` +
          (autopilot ? `; it calls demo contact ${autopilot} every ${autopilotMs} ms` : '') +
          `. Its webhooks go to ${url}${ROUTES.webhooks} (each logged at debug)`,
      );
    }
    logger.info(
      {
        mode: 'sandbox',
        graphiql: graphqlUrl,
        sampleContactId: SAMPLE_CONTACT_ID,
        contacts: layer.sandbox.contacts.size,
        ...(layer.sandbox.autopilotContactId &&
          config.telli.mode === 'sandbox' &&
          config.telli.sandboxAutopilotMs > 0 && {
            autopilotContactId: layer.sandbox.autopilotContactId,
            autopilotMs: config.telli.sandboxAutopilotMs,
          }),
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
        webhooks: config.live.webhookSecrets.length > 0 ? `${url}${ROUTES.webhooks}` : 'off (no TELLI_WEBHOOK_SECRET)',
        eventBus: config.live.redis ? 'redis' : 'in process',
      },
      `serving telli contacts at ${graphqlUrl} (${forward ? "callers' own telli keys" : 'server key'})`,
    );
  }

  return {
    url,
    graphqlUrl,
    layer,
    async close({ drain = false } = {}) {
      // Turn /readiness to 503 and ask keep-alive clients to reconnect elsewhere; keep answering
      // for the drain period, so that a load balancer takes us out of rotation before the socket
      // closes. Then stop accepting, let in-flight requests finish within the grace period (idle
      // keep-alive sockets are closed now, busy ones after their response), cut whatever is
      // left, and close upstream connections.
      serving = false;
      layer.setServing(false);
      if (drain && config.shutdownDrainMs > 0) {
        logger.info({ drainMs: config.shutdownDrainMs }, 'draining: /readiness is 503, still answering');
        await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
      }
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Open subscriptions would otherwise hold their connections until the grace period ends:
      // complete them, whatever their wire, so each client sees `complete` and can subscribe again
      // elsewhere. WebSocket connections are closed once told (upgraded sockets are not the HTTP
      // server's to close, and `closed` waits for them).
      const completed = layer.completeSubscriptions();
      const finished = inFlight > 0 ? new Promise<void>((resolve) => (drained = resolve)) : Promise.resolve();
      const grace = new Promise<'timeout'>((resolve) => setTimeout(resolve, config.shutdownGraceMs, 'timeout').unref());
      if ((await Promise.race([Promise.all([finished, completed]), grace])) === 'timeout') {
        logger.warn({ inFlight }, 'shutdown grace period over; closing remaining connections');
      }
      server.closeAllConnections();
      await completed;
      await closed;
      await layer.close();
    },
  };
}

/**
 * A server key answers for everyone who reaches the port: on an interface other than loopback,
 * without caller tokens, that is anyone on the network. Said once at start-up; not refused, since
 * a network policy or a gateway in front may be what protects it.
 */
function checkExposure(config: Config, logger: Logger): void {
  if (config.telli.mode !== 'server' || config.callerAuth.tokens.length > 0 || isLoopback(config.host)) return;
  logger.warn(
    { host: config.host, alert: 'server-key-exposed' },
    `TELLI_API_KEY is served without CALLER_TOKENS on HOST=${config.host}: anyone who can reach this port reads and writes your telli data. Set CALLER_TOKENS (and send one from your gateway), or bind HOST to 127.0.0.1.`,
  );
}

function isLoopback(host: string): boolean {
  const address = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    address === 'localhost' ||
    address === '::1' ||
    (isIPv4(address) && address.startsWith('127.')) ||
    address.startsWith('::ffff:127.')
  );
}

/**
 * Asks telli whether it accepts the server's key, after listening (start-up does not wait on
 * telli). A rejected key is reported here, naming the variable, instead of first showing as
 * failing queries; the key itself is never logged.
 */
async function checkServerKey(layer: Layer, logger: Logger): Promise<void> {
  if (!layer.verifyServerKey) return;
  try {
    const check = await layer.verifyServerKey();
    if (check.outcome === 'accepted') {
      logger.info('telli accepted TELLI_API_KEY');
    } else if (check.outcome === 'rejected') {
      logger.error(
        { reason: check.reason, alert: 'telli-server-key-rejected' },
        `TELLI_API_KEY is wrong: ${check.reason}. Every query that needs telli answers TELLI_SERVER_KEY_REJECTED, and /readiness is 503, until TELLI_API_KEY is fixed.`,
      );
    } else {
      logger.warn(
        { reason: check.reason },
        `could not check TELLI_API_KEY with telli (${check.reason}); /readiness reports telli until it answers`,
      );
    }
  } catch (error) {
    logger.warn({ err: error }, 'could not check TELLI_API_KEY with telli');
  }
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
  const layer = await createLayer(config, { logger }).catch((error: unknown) => exitIfPortTaken(error, 'SANDBOX_PORT'));
  const running = await serve(layer, config, logger).catch((error: unknown) => exitIfPortTaken(error, 'PORT'));
  checkExposure(config, logger);
  void checkServerKey(running.layer, logger);
  let stopping = false;
  const stop = (signal: 'SIGTERM' | 'SIGINT') => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // SIGTERM is how an orchestrator stops a replica: drain. SIGINT is a person at a terminal.
    running.close({ drain: signal === 'SIGTERM' }).then(
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

/**
 * A port another process holds: one line naming the variable that moves it, and exit 1. Only the
 * sandbox listens while the layer is built, so a port taken then is SANDBOX_PORT's.
 */
function exitIfPortTaken(error: unknown, variable: 'PORT' | 'SANDBOX_PORT'): never {
  if (!(error instanceof Error) || !('code' in error) || error.code !== 'EADDRINUSE') throw error;
  const port = 'port' in error && typeof error.port === 'number' ? error.port : undefined;
  const address = 'address' in error && typeof error.address === 'string' ? error.address : '';
  const where = port === undefined ? 'its port' : `${address}:${port}`;
  const fix =
    variable === 'SANDBOX_PORT'
      ? 'set SANDBOX_PORT to a free port, or 0 for any'
      : `set PORT to a free port${port === undefined ? '' : `, e.g. PORT=${port + 1} npm start`}`;
  process.stderr.write(
    `telli-graphql: cannot listen on ${where}: the port is in use (is another server running?); ${fix}\n`,
  );
  process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`telli-graphql: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
