import { z } from 'zod';

/**
 * Every environment variable the layer reads, in one table (`VARIABLES`): its name, how its value
 * is read, its default, and its row of docs/configuration.md. `parseConfig` and the docs' drift
 * test (test/config.test.ts) both come from that table, so a variable cannot be read without
 * being documented, nor documented with another default than the one it has.
 *
 * `parseConfig` is pure: it takes an env record, reports every problem at once and returns a
 * frozen object. Only `src/server.ts` calls it with `process.env`; tests call it with records of
 * their own. This module imports nothing of the layer, so anything may read a default from it.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const PERSISTED_OPERATION_MODES = ['off', 'allow', 'only'] as const;

/**
 * Query limits, all enforced before execution — so before any telli call. Real operations are
 * shallow; contacts are fetched through lists, so the cost limit (not the alias limit) is what
 * bounds the upstream work one operation can cause.
 */
export interface QueryLimits {
  /** Deepest selection nesting (introspection excepted). */
  readonly maxDepth: number;
  /** Aliases per operation. */
  readonly maxAliases: number;
  /** Lexer tokens per document (a 1000-id inline list is ~1000 tokens). */
  readonly maxTokens: number;
  /** Operation cost (see `src/schema/core/cost.ts`): one per field, plus the contacts and telli reads lists cause. */
  readonly maxCost: number;
  /** Request body size, in bytes. */
  readonly maxBodyBytes: number;
}

/**
 * Svix's timestamp tolerance, either way (the Standard Webhooks spec): a captured delivery can be
 * replayed for this long, so the dedupe window must be at least as long.
 */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/** A Svix endpoint secret: `whsec_` and base64 of at least 16 bytes. */
const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]{22,}={0,2}$/;

// How values are read. Each message follows the variable's name ("PORT must be a number") and
// never repeats the value: some values are secrets.
const port = () =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(0, 'must be 0-65535')
    .max(65535, 'must be 0-65535');

const positiveInt = (max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .positive('must be > 0')
    .max(max, `must be <= ${max}`);

const nonNegativeInt = (max: number, zeroMeans = '') =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(0, `must be >= 0${zeroMeans}`)
    .max(max, `must be <= ${max}`);

const bool = () =>
  z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1');

const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** A URL prefix of callbacks: http(s), no credentials, no query or fragment; kept as its normal form. */
const callbackUrlPrefix = () =>
  z
    .url({ protocol: /^https?$/, error: 'must be http(s) URLs' })
    .refine((v) => {
      const url = new URL(v);
      return !url.username && !url.password && !url.search && !url.hash;
    }, 'must be URLs without credentials, query or fragment')
    .transform((v) => new URL(v).href);

const commaSeparated = () =>
  z.string().transform((v) =>
    v
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  );

/**
 * An origin a browser sends (`scheme://host[:port]`, http or https), kept as its serialization:
 * lower-case host, no default port — what `Origin` carries, so a lookup is a string comparison.
 */
const webOrigins = () =>
  commaSeparated()
    .refine((values) => !values.includes('*'), {
      error: 'must list origins; `*` (any site) is not accepted',
      abort: true,
    })
    .refine(
      (values) =>
        values.every((v) => {
          const url = URL.parse(v);
          return (
            url !== null &&
            (url.protocol === 'http:' || url.protocol === 'https:') &&
            !url.username &&
            !url.password &&
            url.pathname === '/' &&
            !url.search &&
            !url.hash
          );
        }),
      'must be origins: scheme://host[:port], http or https, without a path',
    )
    .transform((values) => values.map((v) => new URL(v).origin));

/** One environment variable: how it is read, what unset means, and its row of docs/configuration.md. */
export interface Variable<T = unknown> {
  /** Reads a set value (an unset or empty one never reaches it, see `emptyIsSet`). */
  readonly read: z.ZodType<T>;
  /** The value when the variable is unset; `undefined` when unset means "none" (see `unset`). */
  readonly default: T | undefined;
  /**
   * What leaving the variable unset does, when there is no default value ('' = nothing to say).
   * docs/configuration.md shows it as the default: `_(unset → sandbox mode)_`.
   */
  readonly unset: string | undefined;
  /** The variable's Meaning in docs/configuration.md, word for word. */
  readonly meaning: string;
  /**
   * An empty value is a value, read (and refused) like any other, rather than unset: an empty API
   * key must not silently mean the sandbox.
   */
  readonly emptyIsSet: boolean;
}

function withDefault<T>(read: z.ZodType<T>, fallback: T, meaning: string): Variable<T> & { readonly default: T } {
  return { read, default: fallback, unset: undefined, meaning, emptyIsSet: false };
}

function optional<T>(
  read: z.ZodType<T>,
  unset: string,
  meaning: string,
  { emptyIsSet = false } = {},
): Variable<T> & { readonly default: undefined } {
  return { read, default: undefined, unset, meaning, emptyIsSet };
}

/**
 * Every variable the layer reads, in the order of docs/configuration.md. To add one: an entry here
 * (the drift test then asks for its row in the docs), and the field of `Config` it fills in
 * `parseConfig`. A rule between variables goes in `RULES`.
 */
export const VARIABLES = Object.freeze({
  TELLI_API_KEY: optional(
    z
      .string()
      .min(1, 'must not be empty (unset it to run against the embedded sandbox)')
      .refine((v) => !/\s/.test(v), 'must not contain whitespace'),
    'sandbox mode',
    'telli API key, sent as `Authorization: Bearer <key>`. Never logged.',
    { emptyIsSet: true },
  ),
  TELLI_BASE_URL: withDefault(
    httpUrl(),
    'https://api.telli.com',
    'telli base URL (may carry a path prefix). Setting it without a key is an error, not a silent sandbox.',
  ),
  TELLI_AUTH: withDefault(
    z.enum(['server', 'forward'], { error: 'must be "server" or "forward"' }),
    'server',
    "`server`: `TELLI_API_KEY` for every request. `forward`: each caller's own `Authorization: Bearer <telli key>` is sent to telli (then `TELLI_API_KEY` must be unset).",
  ),
  TELLI_TIMEOUT_MS: withDefault(
    positiveInt(600_000),
    5_000,
    'Upper bound for one attempt at a telli call: connect, headers and body.',
  ),
  TELLI_MAX_ATTEMPTS: withDefault(positiveInt(10), 3, 'Attempts per telli read, the first included.'),
  TELLI_RETRY_BASE_MS: withDefault(
    positiveInt(60_000),
    100,
    'Backoff base: attempt _n_ waits a random time in `[0, min(max, base·2ⁿ⁻¹))`, at least `Retry-After`.',
  ),
  TELLI_RETRY_MAX_MS: withDefault(
    positiveInt(600_000),
    2_000,
    'Backoff cap (a longer `Retry-After` still wins, within the deadline).',
  ),
  TELLI_MAX_CONCURRENCY: withDefault(
    positiveInt(1024),
    32,
    'telli calls in flight at once across all clients; more wait in a FIFO queue.',
  ),
  REQUEST_DEADLINE_MS: withDefault(
    positiveInt(600_000),
    15_000,
    "Budget for one GraphQL request's telli work — queueing, attempts and backoff included.",
  ),
  TELLI_MAX_CONNECTIONS: withDefault(
    positiveInt(1024),
    64,
    'Keep-alive sockets kept open to telli (at least `TELLI_MAX_CONCURRENCY` is useful).',
  ),
  TELLI_CACHE_TTL_MS: withDefault(
    nonNegativeInt(3_600_000, ' (0 turns the cache off)'),
    0,
    'Serve a contact read from telli again for this long, per API key, without asking telli; `0` = no cache. With `REDIS_URL` the cache is in Redis, one for every instance. See [Shared reads](contacts.md#shared-reads-group-commit-single-flight-and-the-optional-cache).',
  ),
  TELLI_CACHE_MAX_ENTRIES: withDefault(
    positiveInt(10_000_000),
    10_000,
    'Most contacts that cache keeps across all keys in this process; the least recently used go first. The cache in Redis is bounded by its TTL (and Redis `maxmemory`).',
  ),
  TELLI_AGENT_CACHE_TTL_MS: withDefault(
    nonNegativeInt(3_600_000, ' (0 turns the agent cache off)'),
    0,
    'Serve an agent read from telli (by id or listed) again for this long, per API key, without asking telli; `0` = off. Agents rarely change; at most `TELLI_CACHE_MAX_ENTRIES` agents are kept.',
  ),
  // Off by default: telli does not document its limits, so any number here would be a guess.
  TELLI_RATE_LIMIT_PER_SECOND: withDefault(
    nonNegativeInt(100_000, ' (0 turns the budget off)'),
    0,
    "telli calls per second per API key, retries included, spread so that no one-second interval holds more (a tenth of a second is kept as margin); with `REDIS_URL` one budget for every instance, and telli's `429` + `Retry-After` pauses the key on all of them. A call without a slot before the request's deadline is not sent: `TELLI_BUDGET_EXHAUSTED`. `0` = off. See [Operations](operations.md#one-telli-budget-for-every-instance).",
  ),
  PORT: withDefault(port(), 4000, 'Port to listen on (`0` = any free port).'),
  HOST: withDefault(
    z.string().min(1, 'must not be empty'),
    '127.0.0.1',
    'Interface to bind; set `0.0.0.0` in a container.',
  ),
  LOG_LEVEL: withDefault<LogLevel>(
    z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
    'info',
    '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. Logs are JSON lines on stdout.',
  ),
  SANDBOX_PORT: withDefault(port(), 0, 'Sandbox mode only: port of the embedded telli emulator.'),
  SANDBOX_LATENCY_MS: withDefault(
    nonNegativeInt(60_000),
    0,
    'Sandbox mode only: latency the emulator adds to every answer.',
  ),
  // The query limits (see `QueryLimits`).
  QUERY_MAX_DEPTH: withDefault(positiveInt(100), 10, 'Deepest selection nesting (introspection excepted).'),
  QUERY_MAX_ALIASES: withDefault(positiveInt(10_000), 100, 'Aliases per operation.'),
  QUERY_MAX_TOKENS: withDefault(positiveInt(1_000_000), 5000, 'Lexer tokens per document.'),
  QUERY_MAX_COST: withDefault(
    positiveInt(1_000_000),
    3000,
    'Operation cost: one per selected field, plus one per contact requested through `contacts(ids:)` / `_entities(representations:)` / `contactsPage(first:)` (so at most 3 telli batch calls per operation), plus 10 per contact for each v2-only field (`properties`, `updatedAt`: one v2 call per contact, so at most ~270 v2 calls per operation).',
  ),
  MAX_BODY_BYTES: withDefault(
    positiveInt(100 * 1024 * 1024),
    1024 * 1024,
    'Request body size; larger → HTTP 413 `PAYLOAD_TOO_LARGE`.',
  ),
  // Admission control (see `src/http/admission.ts`), sized for a 2-core machine: enough
  // operations in flight for 256 concurrent clients of cheap operations, and a cost budget of
  // about five thousand contacts being fetched and serialised at once (five `contacts(ids:)` of
  // 1000 ids — more would not finish sooner on two cores, only block the event loop longer).
  MAX_OPERATIONS_IN_FLIGHT: withDefault(
    positiveInt(100_000),
    256,
    'GraphQL requests handled at once; more get 503 `OVERLOADED` with `Retry-After`, before their body is read.',
  ),
  MAX_COST_IN_FLIGHT: withDefault(
    positiveInt(100_000_000),
    5_000,
    "Summed cost of the operations handled at once (estimated from the body size at admission, exact before execution); more get 503 `OVERLOADED`. Subscription events have a budget of their own of this size: an event executes when its subscription's cost fits, else waits its turn (see [Live updates](live.md#what-each-subscriber-gets)).",
  ),
  TELLI_MAX_RESPONSE_BYTES: withDefault(
    positiveInt(1024 * 1024 * 1024),
    16 * 1024 * 1024,
    'Largest telli response body read; a larger one is `UPSTREAM_INVALID_RESPONSE`.',
  ),
  CALLER_TOKENS: optional(
    commaSeparated().refine(
      (tokens) => tokens.every((t) => t.length >= 24),
      'each token must be at least 24 characters',
    ),
    'off',
    'Comma-separated tokens (≥ 24 chars each) a caller must send in `CALLER_TOKEN_HEADER`; several at once allow rotation. Ignored in sandbox mode.',
  ),
  CALLER_TOKEN_HEADER: withDefault(
    z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')
      .transform((v) => v.toLowerCase()),
    'x-caller-token',
    'Header carrying the caller token.',
  ),
  INTROSPECTION: withDefault(
    bool(),
    true,
    '`false` turns off introspection, field suggestions and GraphiQL (`_service { sdl }` keeps working for gateways).',
  ),
  CORS_ORIGINS: optional(
    webOrigins(),
    'no cross-origin access',
    'Comma-separated origins (`https://app.example.com`: scheme://host[:port]) whose web pages may call the layer from a browser: CORS answers them, with credentials, and their WebSocket upgrades are accepted. Unset: pages of the layer’s own origin only (GraphiQL); servers and gateways are unaffected. See [Operations](operations.md#browsers-and-other-origins).',
  ),
  CSRF_PREVENTION: withDefault(
    bool(),
    true,
    'CSRF prevention: a "simple" POST (a `text/plain`, form or multipart body) must carry `x-graphql-yoga-csrf`. GET needs no header: it runs queries and subscriptions only (see [Operations](operations.md#csrf-prevention)).',
  ),
  PERSISTED_OPERATIONS: withDefault<PersistedOperationsConfig['mode']>(
    z.enum(PERSISTED_OPERATION_MODES, { error: `must be one of ${PERSISTED_OPERATION_MODES.join(', ')}` }),
    'off',
    "Persisted documents: `off` (hash-only requests are answered `PERSISTED_QUERY_NOT_SUPPORTED`, so APQ clients fall back); `allow` (Apollo's APQ: documents run and register under their sha256; a hash runs the manifest's or a registered document); `only` (a manifest hash; documents only with a valid caller token). See [docs/persisted-documents.md](persisted-documents.md).",
  ),
  // Only the path: reading and checking the manifest is I/O, done at boot by `createLayer`.
  PERSISTED_DOCUMENTS_PATH: optional(
    z.string(),
    '',
    'The trusted-documents manifest (JSON, sha256 id → document, as GraphQL Code Generator writes it), read and checked at start-up; required with `only`, optional with `allow`.',
  ),
  // APQ's store (`allow`): each instance keeps registered documents in an LRU of these bounds;
  // with REDIS_URL they are shared through Redis too. Documents are not tenant data: keyed by hash.
  APQ_MAX_ENTRIES: withDefault(
    positiveInt(10_000_000),
    10_000,
    '`PERSISTED_OPERATIONS=allow`: most APQ documents each instance keeps in memory; the least recently used go first.',
  ),
  APQ_MAX_BYTES: withDefault(
    positiveInt(1024 * 1024 * 1024),
    16 * 1024 * 1024,
    '`PERSISTED_OPERATIONS=allow`: most bytes of APQ documents each instance keeps in memory (a larger document still runs, unregistered).',
  ),
  APQ_REDIS_TTL_SECONDS: withDefault(
    positiveInt(365 * 24 * 60 * 60),
    24 * 60 * 60,
    '`PERSISTED_OPERATIONS=allow` with `REDIS_URL`: how long Redis keeps a registered document after its last registration; a client whose hash expired registers it again.',
  ),
  METRICS: withDefault(bool(), true, 'Serve Prometheus metrics at `/metrics`.'),
  METRICS_TOKEN: optional(
    z.string().trim().min(24, 'must be at least 24 characters'),
    'open',
    'Bearer token `/metrics` then requires (`Authorization: Bearer <token>`, at least 24 characters; Prometheus: `authorization: { credentials: … }`). Unset: `/metrics` is open — serve it on an internal network only.',
  ),
  READINESS_CACHE_MS: withDefault(positiveInt(3_600_000), 10_000, 'How long `/readiness` reuses its last telli check.'),
  SHUTDOWN_GRACE_MS: withDefault(
    positiveInt(600_000),
    10_000,
    'After SIGTERM/SIGINT, how long in-flight requests may take to finish.',
  ),
  SHUTDOWN_DRAIN_MS: withDefault(
    nonNegativeInt(600_000, ' (0 closes the listener at once)'),
    5_000,
    'After SIGTERM, how long the server keeps answering (with `/readiness` 503) before it closes its listener, so load balancers see it leave. SIGINT skips it.',
  ),
  TELLI_WEBHOOK_SECRET: optional(
    commaSeparated().refine(
      (secrets) => secrets.every((secret) => WEBHOOK_SECRET.test(secret)),
      'each secret must be a Svix signing secret (whsec_ followed by base64), comma-separated',
    ),
    'off',
    "Svix signing secret(s) of telli's webhook endpoint (`whsec_…`), comma-separated for rotation; enables `POST /webhooks/telli`. Never logged. Ignored in sandbox mode (a generated secret is shared with the sandbox). See [Live updates](live.md).",
  ),
  // A `call_ended` carries the transcript: 1 MiB holds hours of conversation.
  WEBHOOK_MAX_BODY_BYTES: withDefault(
    positiveInt(100 * 1024 * 1024),
    1024 * 1024,
    'Largest webhook body read; larger → HTTP 413.',
  ),
  // Svix redelivers for about 28 hours; 72 leave room for a manual retry from its portal.
  WEBHOOK_MAX_IN_FLIGHT: withDefault(
    positiveInt(10_000),
    32,
    'Webhook bodies read, verified and published at once; more get 503 `OVERLOADED` with `Retry-After` before their body is read (Svix redelivers). Bounds webhook bodies in memory to this times `WEBHOOK_MAX_BODY_BYTES`.',
  ),
  WEBHOOK_DEDUPE_SECONDS: withDefault(
    positiveInt(30 * 24 * 60 * 60).refine(
      (seconds) => seconds >= WEBHOOK_TOLERANCE_SECONDS,
      `must be >= ${WEBHOOK_TOLERANCE_SECONDS} (Svix's 5-minute signature tolerance: a delivery replayed after a shorter window would be processed again)`,
    ),
    72 * 60 * 60,
    "How long a delivery id (`svix-id`) is remembered: a redelivery within it is acknowledged, not processed again (Svix retries for ~28 h). At least `300`: a captured delivery can be replayed while its timestamp is within Svix's 5-minute tolerance, so a shorter window would process it again.",
  ),
  REDIS_URL: optional(
    z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }),
    'in process',
    '`redis://` or `rediss://` URL shared by every instance: events, invalidation, webhook dedupe, APQ registrations, the telli budget and the contact cache go through it. Never logged.',
  ),
  REDIS_PREFIX: withDefault(
    z.string().max(100, 'must be at most 100 characters'),
    'telli-graphql:',
    'Prefix of the Redis keys and channel (one per deployment when deployments share a Redis).',
  ),
  REDIS_TIMEOUT_MS: withDefault(
    positiveInt(60_000),
    2_000,
    'Longest wait for one Redis command or connect; a webhook then answers 503, while the budget and the contact cache go on without Redis (each instance then keeps to the whole budget alone; reads ask telli).',
  ),
  // Each event is one execution per matching subscriber: about 1000 per event fit a 2-core machine.
  SUBSCRIPTIONS_MAX: withDefault(
    positiveInt(1_000_000),
    1_000,
    'Open GraphQL subscriptions per instance; more get `TOO_MANY_SUBSCRIPTIONS`.',
  ),
  SUBSCRIPTIONS_MAX_PER_CALLER: withDefault(
    positiveInt(1_000_000),
    100,
    'Open subscriptions per caller (forwarded telli key, else peer address) per instance. A caller with a caller token (a gateway) is not limited per caller, only its forwarded keys are. See [Live updates](live.md#many-instances-redis).',
  ),
  // A quarter of the instance's subscriptions per peer address, so that one peer — with made-up
  // keys or many real ones — cannot take the slots everyone else needs.
  SUBSCRIPTIONS_MAX_PER_PEER: withDefault(
    positiveInt(1_000_000),
    250,
    'Open subscriptions per peer address (the TCP peer) per instance, whatever its keys, so that one peer cannot take every slot; subscriptions whose forwarded key is being checked count too. Callers with a caller token (gateways) are not limited per peer. Behind a load balancer every client has its address: raise it (up to `SUBSCRIPTIONS_MAX` turns it off).',
  ),
  // The layer POSTs to the URL a caller names (Apollo's HTTP callback protocol): see
  // docs/operations.md, "Callback subscriptions".
  SUBSCRIPTION_CALLBACK_URLS: optional(
    commaSeparated().pipe(z.array(callbackUrlPrefix())),
    'any http(s) URL, except with `TELLI_AUTH=forward` and no `CALLER_TOKENS`: none',
    "Comma-separated URL prefixes (e.g. `http://router:4000/callback/`) that HTTP-callback subscriptions (Apollo Router's `callback` mode) may name as their `callbackUrl`: same scheme, host and port, and a path under the prefix's. See [Operations](operations.md#callback-subscriptions).",
  ),
  SANDBOX_AUTOPILOT_MS: withDefault(
    nonNegativeInt(3_600_000, ' (0 turns the autopilot off)'),
    5_000,
    "Sandbox mode only: the sandbox's dialer calls a demo contact this often, so subscriptions show events; `0` = off.",
  ),
  SANDBOX_CALL_MS: withDefault(
    positiveInt(600_000),
    3_000,
    'Sandbox mode only: a scheduled call starts this long after scheduling and ends this long after it started.',
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(
    httpUrl(),
    'tracing off',
    'OTLP/HTTP collector base URL; spans go to `<url>/v1/traces`.',
  ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(httpUrl(), '', 'Full OTLP traces URL (takes precedence).'),
  OTEL_SERVICE_NAME: withDefault(z.string(), 'telli-graphql', '`service.name` of exported spans.'),
});

type Variables = typeof VARIABLES;
type VariableName = keyof Variables;

/** The variables' values: each one read, or its default; `undefined` only where there is none. */
type Env = {
  readonly [K in VariableName]: Variables[K] extends { readonly default: undefined }
    ? z.output<Variables[K]['read']> | undefined
    : z.output<Variables[K]['read']>;
};

/**
 * A rule between variables, reported on `variable`. It runs beside the variables' own checks, so
 * that every problem is reported at once; only when a variable whose value it `reads` is bad does it
 * not run (the bad value is reported by its own variable). Whether a variable is set at all is
 * known even when its value is bad: `isSet` needs no `reads`.
 */
interface Rule {
  readonly variable: VariableName;
  readonly reads: readonly VariableName[];
  /** The problem, worded to follow the variable's name; undefined when the rule holds. */
  problem(env: Env, isSet: (name: VariableName) => boolean): string | undefined;
}

const RULES: readonly Rule[] = [
  {
    variable: 'TELLI_API_KEY',
    reads: ['TELLI_AUTH'],
    problem: (env, isSet) =>
      env.TELLI_AUTH === 'forward' && isSet('TELLI_API_KEY')
        ? 'must not be set with TELLI_AUTH=forward (each caller sends its own key; a server key would be a silent default tenant)'
        : undefined,
  },
  {
    variable: 'TELLI_API_KEY',
    reads: ['TELLI_AUTH'],
    problem: (env, isSet) =>
      env.TELLI_AUTH === 'server' && isSet('TELLI_BASE_URL') && !isSet('TELLI_API_KEY')
        ? 'is required when TELLI_BASE_URL is set (unset both to use the embedded sandbox)'
        : undefined,
  },
  {
    variable: 'PERSISTED_DOCUMENTS_PATH',
    reads: ['PERSISTED_OPERATIONS'],
    // `allow` works without a manifest: APQ registers the documents clients send.
    problem: (env, isSet) =>
      env.PERSISTED_OPERATIONS === 'only' && !isSet('PERSISTED_DOCUMENTS_PATH')
        ? `is required when PERSISTED_OPERATIONS=${env.PERSISTED_OPERATIONS} (the manifest of hash -> document)`
        : undefined,
  },
];

export type LogLevel = (typeof LOG_LEVELS)[number];

/** How the layer talks to telli, whichever telli it is. */
export interface UpstreamSettings {
  /** Upper bound for one attempt at a telli call: connect, headers and body. */
  readonly timeoutMs: number;
  /** Attempts per idempotent call, the first included. */
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** Calls to telli in flight at once, across all callers; the rest queue. */
  readonly maxConcurrency: number;
  /** Sockets kept open to telli. */
  readonly maxConnections: number;
  /** Largest telli response body read; a larger one is UPSTREAM_INVALID_RESPONSE. */
  readonly maxResponseBytes: number;
  /** Contacts served again within this many ms, per API key, without asking telli; 0 = off. */
  readonly cacheTtlMs: number;
  /** Most contacts the cache keeps, across keys (and, separately, most agents). */
  readonly cacheMaxEntries: number;
  /** Agents served again within this many ms, per API key, without asking telli; 0 = off. */
  readonly agentCacheTtlMs: number;
  /** telli calls per second per API key (across instances with Redis); 0 = no budget. */
  readonly rateLimitPerSecond: number;
}

/**
 * Which telli the layer talks to, and with whose key:
 * - `sandbox`: no key given — the embedded telli emulator serves demo data on loopback;
 * - `server`: this deployment's key (`TELLI_API_KEY`) for every request;
 * - `forward`: each caller's own `Authorization: Bearer <telli key>`; there is no default tenant.
 */
export type TelliTarget =
  | {
      readonly mode: 'sandbox';
      readonly sandboxPort: number;
      readonly sandboxLatencyMs: number;
      /** Every this many ms the sandbox's dialer calls its autopilot contact; 0 = never. */
      readonly sandboxAutopilotMs: number;
      /** A sandbox call starts this long after it is scheduled, and ends this long after it started. */
      readonly sandboxCallMs: number;
    }
  | { readonly mode: 'server'; readonly apiKey: string; readonly baseUrl: string }
  | { readonly mode: 'forward'; readonly baseUrl: string };

export type TelliConfig = TelliTarget & UpstreamSettings;

/**
 * Persisted documents, see docs/persisted-documents.md:
 * - `off`: documents only; a hash alone is answered PersistedQueryNotSupported (APQ clients fall back);
 * - `allow`: a manifest id, a document registered by APQ, or a document (which APQ registers);
 * - `only`: a manifest id; a document only from a caller with a valid caller token (a gateway).
 * `path` is the manifest file: optional with `allow`; with `off` it is unused (kept so the layer
 * can say it ignores it).
 */
export type PersistedOperationsConfig =
  | { readonly mode: 'off' | 'allow'; readonly path: string | undefined }
  | { readonly mode: 'only'; readonly path: string };

/** APQ's store of registered documents (`PERSISTED_OPERATIONS=allow`). */
export interface ApqConfig {
  /** Most documents, and most bytes of documents, each instance keeps (an LRU). */
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** With Redis (`live.redis`): how long a registered document stays there after its last registration. */
  readonly redisTtlSeconds: number;
}

/** Webhooks in, subscriptions out. */
export interface LiveConfig {
  /** Signing secrets of telli's webhook endpoint; empty = `/webhooks/telli` is off (sandbox mode generates one). */
  readonly webhookSecrets: readonly string[];
  readonly webhookMaxBodyBytes: number;
  /** Webhook bodies being read, verified and published at once; beyond: 503 `OVERLOADED`, Svix redelivers. */
  readonly webhookMaxInFlight: number;
  /** How long a delivery id (`svix-id`) is remembered: a redelivery within it is not processed again. */
  readonly dedupeTtlSeconds: number;
  /** Shared events, invalidation and dedupe across instances; undefined = in this process only. */
  readonly redis: { readonly url: string; readonly prefix: string; readonly timeoutMs: number } | undefined;
  readonly maxSubscriptions: number;
  readonly maxSubscriptionsPerCaller: number;
  /** Open subscriptions (and ones whose key is being checked) per TCP peer address. */
  readonly maxSubscriptionsPerPeer: number;
  /** URL prefixes HTTP-callback subscriptions may name; undefined = the default policy (see `SUBSCRIPTION_CALLBACK_URLS`). */
  readonly callbackUrlPrefixes: readonly string[] | undefined;
}

export interface Config {
  /** Port the GraphQL server listens on (0 = any free port). */
  readonly port: number;
  readonly host: string;
  readonly telli: TelliConfig;
  /** Overall budget for one GraphQL request's upstream work, retries and queueing included. */
  readonly requestDeadlineMs: number;
  readonly logLevel: LogLevel;
  readonly limits: QueryLimits;
  /** Admission control: GraphQL requests, and their summed cost, in flight at once. */
  readonly admission: { readonly maxOperations: number; readonly maxCost: number };
  /** Tokens callers must send in `header`; empty = caller auth off (it is always off in sandbox mode). */
  readonly callerAuth: { readonly tokens: readonly string[]; readonly header: string };
  readonly introspection: boolean;
  readonly csrfPrevention: boolean;
  /** Origins whose pages may call the layer (CORS, WebSocket upgrades); empty = same-origin pages only. */
  readonly corsOrigins: readonly string[];
  readonly metrics: boolean;
  /** Bearer token `/metrics` requires; undefined = open (serve it on an internal network only). */
  readonly metricsToken: string | undefined;
  readonly readinessCacheMs: number;
  /** How long in-flight requests may take to finish after SIGTERM/SIGINT. */
  readonly shutdownGraceMs: number;
  /**
   * After SIGTERM: how long the server keeps accepting (with `/readiness` 503) before it closes
   * the listener, so that load balancers see it leave instead of refused connections.
   */
  readonly shutdownDrainMs: number;
  /** OpenTelemetry export; undefined = tracing off. */
  readonly tracing: { readonly otlpTracesUrl: string; readonly serviceName: string } | undefined;
  readonly persistedOperations: PersistedOperationsConfig;
  readonly live: LiveConfig;
  readonly apq: ApqConfig;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const values: Partial<Record<VariableName, unknown>> = {};
  const set = new Set<VariableName>();
  const bad = new Set<VariableName>();
  for (const name of Object.keys(VARIABLES) as VariableName[]) {
    const variable: Variable = VARIABLES[name];
    const value = env[name];
    // Unset and empty are alike, except where an empty value must be refused rather than ignored.
    if (value === undefined || (value.trim() === '' && !variable.emptyIsSet)) {
      values[name] = variable.default;
      continue;
    }
    set.add(name);
    const read = variable.read.safeParse(value);
    if (read.success) {
      values[name] = read.data;
    } else {
      bad.add(name);
      problems.push(...read.error.issues.map((issue) => `${name} ${issue.message}`));
    }
  }
  // Each entry was read by its own variable's schema (or is its default), which is what `Env` says.
  const e = values as Env;
  for (const rule of RULES) {
    if (rule.reads.some((name) => bad.has(name))) continue;
    const problem = rule.problem(e, (name) => set.has(name));
    if (problem !== undefined) problems.push(`${rule.variable} ${problem}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    telli: {
      ...telliTarget(e),
      timeoutMs: e.TELLI_TIMEOUT_MS,
      maxAttempts: e.TELLI_MAX_ATTEMPTS,
      retryBaseDelayMs: e.TELLI_RETRY_BASE_MS,
      retryMaxDelayMs: e.TELLI_RETRY_MAX_MS,
      maxConcurrency: e.TELLI_MAX_CONCURRENCY,
      maxConnections: e.TELLI_MAX_CONNECTIONS,
      maxResponseBytes: e.TELLI_MAX_RESPONSE_BYTES,
      cacheTtlMs: e.TELLI_CACHE_TTL_MS,
      cacheMaxEntries: e.TELLI_CACHE_MAX_ENTRIES,
      agentCacheTtlMs: e.TELLI_AGENT_CACHE_TTL_MS,
      rateLimitPerSecond: e.TELLI_RATE_LIMIT_PER_SECOND,
    },
    requestDeadlineMs: e.REQUEST_DEADLINE_MS,
    logLevel: e.LOG_LEVEL,
    limits: {
      maxDepth: e.QUERY_MAX_DEPTH,
      maxAliases: e.QUERY_MAX_ALIASES,
      maxTokens: e.QUERY_MAX_TOKENS,
      maxCost: e.QUERY_MAX_COST,
      maxBodyBytes: e.MAX_BODY_BYTES,
    },
    admission: { maxOperations: e.MAX_OPERATIONS_IN_FLIGHT, maxCost: e.MAX_COST_IN_FLIGHT },
    callerAuth: { tokens: e.CALLER_TOKENS ?? [], header: e.CALLER_TOKEN_HEADER },
    introspection: e.INTROSPECTION,
    csrfPrevention: e.CSRF_PREVENTION,
    corsOrigins: e.CORS_ORIGINS ?? [],
    metrics: e.METRICS,
    metricsToken: e.METRICS_TOKEN,
    readinessCacheMs: e.READINESS_CACHE_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    tracing: tracesUrl(e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, e.OTEL_EXPORTER_OTLP_ENDPOINT, e.OTEL_SERVICE_NAME),
    persistedOperations: persistedOperations(e),
    live: {
      webhookSecrets: e.TELLI_WEBHOOK_SECRET ?? [],
      webhookMaxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES,
      webhookMaxInFlight: e.WEBHOOK_MAX_IN_FLIGHT,
      dedupeTtlSeconds: e.WEBHOOK_DEDUPE_SECONDS,
      redis: e.REDIS_URL ? { url: e.REDIS_URL, prefix: e.REDIS_PREFIX, timeoutMs: e.REDIS_TIMEOUT_MS } : undefined,
      maxSubscriptions: e.SUBSCRIPTIONS_MAX,
      maxSubscriptionsPerCaller: e.SUBSCRIPTIONS_MAX_PER_CALLER,
      maxSubscriptionsPerPeer: e.SUBSCRIPTIONS_MAX_PER_PEER,
      callbackUrlPrefixes: e.SUBSCRIPTION_CALLBACK_URLS,
    },
    apq: { maxEntries: e.APQ_MAX_ENTRIES, maxBytes: e.APQ_MAX_BYTES, redisTtlSeconds: e.APQ_REDIS_TTL_SECONDS },
  };
  return deepFreeze(config);
}

function telliTarget(e: Env): TelliTarget {
  const baseUrl = e.TELLI_BASE_URL;
  if (e.TELLI_AUTH === 'forward') return { mode: 'forward', baseUrl };
  if (e.TELLI_API_KEY) return { mode: 'server', apiKey: e.TELLI_API_KEY, baseUrl };
  return {
    mode: 'sandbox',
    sandboxPort: e.SANDBOX_PORT,
    sandboxLatencyMs: e.SANDBOX_LATENCY_MS,
    sandboxAutopilotMs: e.SANDBOX_AUTOPILOT_MS,
    sandboxCallMs: e.SANDBOX_CALL_MS,
  };
}

function persistedOperations(e: Env): PersistedOperationsConfig {
  const path = e.PERSISTED_DOCUMENTS_PATH;
  if (e.PERSISTED_OPERATIONS !== 'only') return { mode: e.PERSISTED_OPERATIONS, path };
  // A rule has already refused `only` without a path.
  return { mode: 'only', path: path ?? '' };
}

/** The OTLP spec: a signal-specific endpoint is used as is; the base endpoint gets `/v1/traces`. */
function tracesUrl(traces: string | undefined, base: string | undefined, serviceName: string): Config['tracing'] {
  if (traces) return { otlpTracesUrl: traces, serviceName };
  if (base) return { otlpTracesUrl: `${base.replace(/\/+$/, '')}/v1/traces`, serviceName };
  return undefined;
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}

/** The query limits of an empty environment: the table's defaults. */
export const DEFAULT_QUERY_LIMITS: QueryLimits = parseConfig({}).limits;
