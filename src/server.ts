import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createApp } from './app.js';
import type { TelliAuth } from './context.js';
import { ConfigError, parseConfig, type Config } from './config.js';
import { pino } from 'pino';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createTracing } from './tracing.js';
import { SAMPLE_CONTACT_ID, startSandbox, type RunningSandbox } from './sandbox/index.js';
import { createTelliClient } from './telli/index.js';

export interface RunningServer {
  /** e.g. `http://127.0.0.1:4000` */
  url: string;
  graphqlUrl: string;
  mode: Config['mode'];
  sandbox?: RunningSandbox;
  /** Stops accepting, lets in-flight requests finish, closes upstream connections. */
  close(): Promise<void>;
}

/** GraphiQL's opening query in sandbox mode: a real demo contact, with fields from telli v1 and v2. */
export function sandboxDefaultQuery(contactId: string): string {
  return `# Sandbox mode: demo data from the embedded telli emulator.
# Press the run button (or Ctrl/Cmd+Enter).
query DemoContact {
  contact(id: "${contactId}") {
    id
    externalId
    firstName
    lastName
    phoneNumber
    email
    timezone
    status
    inCallSince
    reachedAt
    nextCallAt
    callAttempts
    contactDetails
    # From telli v2 (one more call):
    updatedAt
    properties {
      key
      label
      dataType
      value
    }
  }
}
`;
}

/** Wires config → logger, telli client, (sandbox), app, HTTP server. Everything testable lives in createApp. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  let sandbox: RunningSandbox | undefined;
  let baseUrl = config.telli.baseUrl;
  let apiKey = config.telli.apiKey;
  if (config.mode === 'sandbox') {
    sandbox = await startSandbox({ port: config.sandbox.port, latencyMs: config.sandbox.latencyMs });
    baseUrl = sandbox.url;
    apiKey = sandbox.apiKey;
  }
  let auth: TelliAuth;
  if (config.telli.auth === 'forward') auth = { mode: 'forward' };
  else if (apiKey) auth = { mode: 'server', apiKey };
  else throw new Error('no telli API key'); // unreachable: parseConfig guarantees one

  const metrics = config.metrics ? createMetrics({ processMetrics: true, token: config.metricsToken }) : undefined;
  const tracing = config.tracing && createTracing(config.tracing);
  const telli = createTelliClient({
    baseUrl,
    timeoutMs: config.telli.timeoutMs,
    maxAttempts: config.telli.maxAttempts,
    retryBaseDelayMs: config.telli.retryBaseDelayMs,
    retryMaxDelayMs: config.telli.retryMaxDelayMs,
    maxConcurrency: config.telli.maxConcurrency,
    maxConnections: config.telli.maxConnections,
    ...(tracing && { tracer: tracing.tracer }),
    hooks: {
      ...metrics?.telliHooks,
      onRetry: (event) => {
        metrics?.telliHooks.onRetry?.(event);
        logger.warn(event, 'retrying telli call');
      },
    },
  });

  // Caller auth protects a real key; the sandbox serves only demo data, so it stays open there.
  const callerAuth = sandbox ? undefined : config.callerAuth;
  if (sandbox && config.callerAuth.tokens.length > 0) {
    logger.warn('CALLER_TOKENS is ignored in sandbox mode (demo data only)');
  }
  let serving = false;
  const server: Server = createServer();
  const app = createApp({
    telli,
    auth,
    requestDeadlineMs: config.requestDeadlineMs,
    contactCache: { ttlMs: config.telli.cacheTtlMs, maxEntries: config.telli.cacheMaxEntries },
    logger,
    limits: config.limits,
    introspection: config.introspection,
    csrfPrevention: config.csrfPrevention,
    ...(callerAuth && { callerAuth }),
    ...(metrics && { metrics }),
    ...(tracing && { tracer: tracing.tracer }),
    readiness: {
      serving: () => serving,
      checkTelli: () => telli.probe(auth.mode === 'server' ? auth.apiKey : undefined),
      cacheMs: config.readinessCacheMs,
    },
    ...(sandbox && { graphiqlDefaultQuery: sandboxDefaultQuery(SAMPLE_CONTACT_ID) }),
  });

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
    void app(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  serving = true;
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  const graphqlUrl = `${url}/graphql`;

  if (sandbox) {
    logger.info(
      { mode: 'sandbox', graphiql: graphqlUrl, sampleContactId: SAMPLE_CONTACT_ID, contacts: sandbox.contacts.size },
      `sandbox mode (no TELLI_API_KEY): demo data from the embedded telli emulator. GraphiQL: ${graphqlUrl} — sample contact id ${SAMPLE_CONTACT_ID}`,
    );
  } else {
    logger.info(
      {
        mode: 'telli',
        auth: config.telli.auth,
        graphql: graphqlUrl,
        telliBaseUrl: baseUrl,
        callerAuth: (callerAuth?.tokens.length ?? 0) > 0,
        introspection: config.introspection,
      },
      `serving telli contacts at ${graphqlUrl} (${config.telli.auth === 'forward' ? "callers' own telli keys" : 'server key'})`,
    );
  }

  return {
    url,
    graphqlUrl,
    mode: config.mode,
    ...(sandbox && { sandbox }),
    async close() {
      // Stop accepting and turn /readiness to 503; let in-flight requests finish within the grace
      // period (idle keep-alive sockets are closed now, busy ones after their response); then cut
      // whatever is left, and close upstream connections.
      serving = false;
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
      await telli.close();
      await sandbox?.close();
      await tracing?.shutdown();
    },
  };
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
