import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createApp } from './app.js';
import type { TelliAuth } from './context.js';
import { ConfigError, parseConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
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

/** GraphiQL's opening query in sandbox mode: a real demo contact, every field. */
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

  const telli = createTelliClient({
    baseUrl,
    timeoutMs: config.telli.timeoutMs,
    maxAttempts: config.telli.maxAttempts,
    retryBaseDelayMs: config.telli.retryBaseDelayMs,
    retryMaxDelayMs: config.telli.retryMaxDelayMs,
    maxConcurrency: config.telli.maxConcurrency,
    maxConnections: config.telli.maxConnections,
    hooks: {
      onRetry: (event) => logger.warn(event, 'retrying telli call'),
    },
  });
  const app = createApp({
    telli,
    auth,
    requestDeadlineMs: config.requestDeadlineMs,
    contactCache: { ttlMs: config.telli.cacheTtlMs, maxEntries: config.telli.cacheMaxEntries },
    logger,
    ...(sandbox && { graphiqlDefaultQuery: sandboxDefaultQuery(SAMPLE_CONTACT_ID) }),
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
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
      { mode: 'telli', graphql: graphqlUrl, telliBaseUrl: baseUrl },
      `serving telli contacts at ${graphqlUrl}`,
    );
  }

  return {
    url,
    graphqlUrl,
    mode: config.mode,
    ...(sandbox && { sandbox }),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await telli.close();
      await sandbox?.close();
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
  const logger = createLogger({ level: config.logLevel });
  const running = await startServer(config, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
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
