import { z } from 'zod';

/**
 * Every environment variable the layer reads, and every default, in one place. `parseConfig` is
 * pure: it takes an env record, reports every problem at once and returns a frozen object. Only
 * `src/server.ts` calls it with `process.env`; tests call it with records of their own. This
 * module imports nothing of the layer, so anything may read a default from it.
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
  /** Operation cost (see `src/schema/cost.ts`): one per field, plus the contacts and telli reads lists cause. */
  readonly maxCost: number;
  /** Request body size, in bytes. */
  readonly maxBodyBytes: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = Object.freeze({
  maxDepth: 10,
  maxAliases: 100,
  maxTokens: 5000,
  maxCost: 3000,
  maxBodyBytes: 1024 * 1024,
});

/**
 * Admission control (see `src/http/admission.ts`), sized for a 2-core machine: enough operations
 * in flight for 256 concurrent clients of cheap operations, and a cost budget of about five
 * thousand contacts being fetched and serialised at once (five `contacts(ids:)` of 1000 ids —
 * more would not finish sooner on two cores, only block the event loop longer).
 */
export const DEFAULT_ADMISSION = Object.freeze({ maxOperations: 256, maxCost: 5_000 });

/** Live updates: webhooks in, subscriptions out (docs/live.md). */
export const DEFAULT_LIVE = Object.freeze({
  /** A `call_ended` carries the transcript: 1 MiB holds hours of conversation. */
  webhookMaxBodyBytes: 1024 * 1024,
  /** Svix redelivers for about 28 hours; 72 leave room for a manual retry from its portal. */
  dedupeTtlSeconds: 72 * 60 * 60,
  redisPrefix: 'telli-graphql:',
  redisTimeoutMs: 2_000,
  /** Each event is one execution per matching subscriber: about 1000 per event fit a 2-core machine. */
  maxSubscriptions: 1_000,
  maxSubscriptionsPerCaller: 100,
  /**
   * A quarter of the instance's subscriptions per peer address, so that one peer — with made-up
   * keys or many real ones — cannot take the slots everyone else needs.
   */
  maxSubscriptionsPerPeer: 250,
  /** Webhook bodies read, verified and published at once: 32 MiB at most with 1 MiB bodies. */
  webhookMaxInFlight: 32,
  sandboxAutopilotMs: 5_000,
  sandboxCallMs: 3_000,
});

/**
 * Svix's timestamp tolerance, either way (the Standard Webhooks spec): a captured delivery can be
 * replayed for this long, so the dedupe window must be at least as long.
 */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/** A Svix endpoint secret: `whsec_` and base64 of at least 16 bytes. */
const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]{22,}={0,2}$/;

export const DEFAULT_TELLI_BASE_URL = 'https://api.telli.com';
export const DEFAULT_REQUEST_DEADLINE_MS = 15_000;
export const DEFAULT_CACHE_MAX_ENTRIES = 10_000;

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(0, 'must be 0-65535')
    .max(65535, 'must be 0-65535')
    .default(fallback);

const positiveInt = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .positive('must be > 0')
    .max(max, `must be <= ${max}`)
    .default(fallback);

const nonNegativeInt = (fallback: number, max: number, zeroMeans = '') =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(0, `must be >= 0${zeroMeans}`)
    .max(max, `must be <= ${max}`)
    .default(fallback);

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .transform((v) => v === 'true' || v === '1')
    .default(fallback);

const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const envSchema = z
  .object({
    PORT: port(4000),
    HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
    TELLI_API_KEY: z
      .string()
      .min(1, 'must not be empty (unset it to run against the embedded sandbox)')
      .refine((v) => !/\s/.test(v), 'must not contain whitespace')
      .optional(),
    TELLI_BASE_URL: httpUrl().optional(),
    TELLI_AUTH: z.enum(['server', 'forward'], { error: 'must be "server" or "forward"' }).default('server'),
    TELLI_TIMEOUT_MS: positiveInt(5_000, 600_000),
    TELLI_MAX_ATTEMPTS: positiveInt(3, 10),
    TELLI_RETRY_BASE_MS: positiveInt(100, 60_000),
    TELLI_RETRY_MAX_MS: positiveInt(2_000, 600_000),
    TELLI_MAX_CONCURRENCY: positiveInt(32, 1024),
    TELLI_MAX_CONNECTIONS: positiveInt(64, 1024),
    TELLI_MAX_RESPONSE_BYTES: positiveInt(16 * 1024 * 1024, 1024 * 1024 * 1024),
    REQUEST_DEADLINE_MS: positiveInt(DEFAULT_REQUEST_DEADLINE_MS, 600_000),
    TELLI_CACHE_TTL_MS: nonNegativeInt(0, 3_600_000, ' (0 turns the cache off)'),
    TELLI_CACHE_MAX_ENTRIES: positiveInt(DEFAULT_CACHE_MAX_ENTRIES, 10_000_000),
    TELLI_AGENT_CACHE_TTL_MS: nonNegativeInt(0, 3_600_000, ' (0 turns the agent cache off)'),
    LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    QUERY_MAX_DEPTH: positiveInt(DEFAULT_QUERY_LIMITS.maxDepth, 100),
    QUERY_MAX_ALIASES: positiveInt(DEFAULT_QUERY_LIMITS.maxAliases, 10_000),
    QUERY_MAX_TOKENS: positiveInt(DEFAULT_QUERY_LIMITS.maxTokens, 1_000_000),
    QUERY_MAX_COST: positiveInt(DEFAULT_QUERY_LIMITS.maxCost, 1_000_000),
    MAX_BODY_BYTES: positiveInt(DEFAULT_QUERY_LIMITS.maxBodyBytes, 100 * 1024 * 1024),
    MAX_OPERATIONS_IN_FLIGHT: positiveInt(DEFAULT_ADMISSION.maxOperations, 100_000),
    MAX_COST_IN_FLIGHT: positiveInt(DEFAULT_ADMISSION.maxCost, 100_000_000),
    CALLER_TOKENS: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      )
      .refine((tokens) => tokens.every((t) => t.length >= 24), 'each token must be at least 24 characters')
      .optional(),
    CALLER_TOKEN_HEADER: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')
      .transform((v) => v.toLowerCase())
      .default('x-caller-token'),
    INTROSPECTION: bool(true),
    CSRF_PREVENTION: bool(true),
    METRICS: bool(true),
    METRICS_TOKEN: z.string().trim().min(24, 'must be at least 24 characters').optional(),
    READINESS_CACHE_MS: positiveInt(10_000, 3_600_000),
    SHUTDOWN_GRACE_MS: positiveInt(10_000, 600_000),
    SHUTDOWN_DRAIN_MS: nonNegativeInt(5_000, 600_000, ' (0 closes the listener at once)'),
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl().optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl().optional(),
    OTEL_SERVICE_NAME: z.string().min(1).default('telli-graphql'),
    TELLI_WEBHOOK_SECRET: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      )
      // Never echo the value: the message names only the expected shape.
      .refine(
        (secrets) => secrets.every((secret) => WEBHOOK_SECRET.test(secret)),
        'each secret must be a Svix signing secret (whsec_ followed by base64), comma-separated',
      )
      .optional(),
    WEBHOOK_MAX_BODY_BYTES: positiveInt(DEFAULT_LIVE.webhookMaxBodyBytes, 100 * 1024 * 1024),
    WEBHOOK_DEDUPE_SECONDS: positiveInt(DEFAULT_LIVE.dedupeTtlSeconds, 30 * 24 * 60 * 60).refine(
      (seconds) => seconds >= WEBHOOK_TOLERANCE_SECONDS,
      `must be >= ${WEBHOOK_TOLERANCE_SECONDS} (Svix's 5-minute signature tolerance: a delivery replayed after a shorter window would be processed again)`,
    ),
    WEBHOOK_MAX_IN_FLIGHT: positiveInt(DEFAULT_LIVE.webhookMaxInFlight, 10_000),
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
    REDIS_PREFIX: z.string().max(100, 'must be at most 100 characters').default(DEFAULT_LIVE.redisPrefix),
    REDIS_TIMEOUT_MS: positiveInt(DEFAULT_LIVE.redisTimeoutMs, 60_000),
    SUBSCRIPTIONS_MAX: positiveInt(DEFAULT_LIVE.maxSubscriptions, 1_000_000),
    SUBSCRIPTIONS_MAX_PER_CALLER: positiveInt(DEFAULT_LIVE.maxSubscriptionsPerCaller, 1_000_000),
    SUBSCRIPTIONS_MAX_PER_PEER: positiveInt(DEFAULT_LIVE.maxSubscriptionsPerPeer, 1_000_000),
    SANDBOX_PORT: port(0),
    SANDBOX_AUTOPILOT_MS: nonNegativeInt(DEFAULT_LIVE.sandboxAutopilotMs, 3_600_000, ' (0 turns the autopilot off)'),
    SANDBOX_CALL_MS: positiveInt(DEFAULT_LIVE.sandboxCallMs, 600_000),
    SANDBOX_LATENCY_MS: nonNegativeInt(0, 60_000),
    PERSISTED_OPERATIONS: z
      .enum(PERSISTED_OPERATION_MODES, { error: `must be one of ${PERSISTED_OPERATION_MODES.join(', ')}` })
      .default('off'),
    // Only the path: reading and checking the manifest is I/O, done at boot by `createLayer`.
    PERSISTED_DOCUMENTS_PATH: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.TELLI_AUTH === 'forward' && env.TELLI_API_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['TELLI_API_KEY'],
        message:
          'must not be set with TELLI_AUTH=forward (each caller sends its own key; a server key would be a silent default tenant)',
      });
    }
    if (env.TELLI_AUTH === 'server' && env.TELLI_BASE_URL && !env.TELLI_API_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['TELLI_API_KEY'],
        message: 'is required when TELLI_BASE_URL is set (unset both to use the embedded sandbox)',
      });
    }
    if (env.PERSISTED_OPERATIONS !== 'off' && !env.PERSISTED_DOCUMENTS_PATH) {
      ctx.addIssue({
        code: 'custom',
        path: ['PERSISTED_DOCUMENTS_PATH'],
        message: `is required when PERSISTED_OPERATIONS=${env.PERSISTED_OPERATIONS} (the manifest of hash -> document)`,
      });
    }
  });

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
 * Trusted documents (persisted operations), see docs/persisted-documents.md:
 * - `off`: documents only, as before; ids are not looked at;
 * - `allow`: a manifest id or a document;
 * - `only`: a manifest id; a document only from a caller with a valid caller token (a gateway).
 * `path` is the manifest file; with `off` it is unused (kept so the layer can say it ignores it).
 */
export type PersistedOperationsConfig =
  | { readonly mode: 'off'; readonly path: string | undefined }
  | { readonly mode: 'allow' | 'only'; readonly path: string };

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
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Unset and empty-string variables are treated alike for everything except secrets. */
function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value === undefined) continue;
    if (value.trim() === '' && key !== 'TELLI_API_KEY') continue;
    out[key] = value;
  }
  return out;
}

type Env = z.infer<typeof envSchema>;

function telliTarget(e: Env): TelliTarget {
  const baseUrl = e.TELLI_BASE_URL ?? DEFAULT_TELLI_BASE_URL;
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

export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(definedOnly(env));
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`),
    );
  }
  const e = parsed.data;
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
    },
  };
  return deepFreeze(config);
}

function persistedOperations(e: Env): PersistedOperationsConfig {
  const path = e.PERSISTED_DOCUMENTS_PATH;
  if (e.PERSISTED_OPERATIONS === 'off') return { mode: 'off', path };
  // superRefine has already refused allow/only without a path.
  return { mode: e.PERSISTED_OPERATIONS, path: path ?? '' };
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
