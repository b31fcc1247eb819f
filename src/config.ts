import { z } from 'zod';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from './plugins/limits.js';

/**
 * Every environment variable the layer reads, in one place. `parseConfig` is pure: it takes an env
 * record, reports every problem at once and returns a frozen object. Only `src/server.ts` calls it.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

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

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .transform((v) => v === 'true' || v === '1')
    .default(fallback);

const envSchema = z
  .object({
    PORT: port(4000),
    HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
    TELLI_API_KEY: z
      .string()
      .min(1, 'must not be empty (unset it to run against the embedded sandbox)')
      .refine((v) => !/\s/.test(v), 'must not contain whitespace')
      .optional(),
    TELLI_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    TELLI_AUTH: z.enum(['server', 'forward'], { error: 'must be "server" or "forward"' }).default('server'),
    TELLI_TIMEOUT_MS: positiveInt(5_000, 600_000),
    TELLI_MAX_ATTEMPTS: positiveInt(3, 10),
    TELLI_RETRY_BASE_MS: positiveInt(100, 60_000),
    TELLI_RETRY_MAX_MS: positiveInt(2_000, 600_000),
    TELLI_MAX_CONCURRENCY: positiveInt(32, 1024),
    TELLI_MAX_CONNECTIONS: positiveInt(64, 1024),
    REQUEST_DEADLINE_MS: positiveInt(15_000, 600_000),
    TELLI_CACHE_TTL_MS: z.coerce
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(0, 'must be >= 0 (0 turns the cache off)')
      .max(3_600_000, 'must be <= 3600000')
      .default(0),
    TELLI_CACHE_MAX_ENTRIES: positiveInt(10_000, 10_000_000),
    LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    QUERY_MAX_DEPTH: positiveInt(DEFAULT_QUERY_LIMITS.maxDepth, 100),
    QUERY_MAX_ALIASES: positiveInt(DEFAULT_QUERY_LIMITS.maxAliases, 10_000),
    QUERY_MAX_TOKENS: positiveInt(DEFAULT_QUERY_LIMITS.maxTokens, 1_000_000),
    QUERY_MAX_COST: positiveInt(DEFAULT_QUERY_LIMITS.maxCost, 1_000_000),
    MAX_BODY_BYTES: positiveInt(DEFAULT_QUERY_LIMITS.maxBodyBytes, 100 * 1024 * 1024),
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
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    OTEL_SERVICE_NAME: z.string().min(1).default('telli-graphql'),
    SANDBOX_PORT: port(0),
    SANDBOX_LATENCY_MS: z.coerce
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(0, 'must be >= 0')
      .max(60_000, 'must be <= 60000')
      .default(0),
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
  });

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** Port the GraphQL server listens on (0 = any free port). */
  readonly port: number;
  readonly host: string;
  /** `sandbox`: no key given, the embedded telli emulator serves demo data on loopback. */
  readonly mode: 'telli' | 'sandbox';
  readonly telli: {
    /** `server`: one key for every request. `forward`: each caller's `Authorization: Bearer` key. */
    readonly auth: 'server' | 'forward';
    /** Absent in sandbox and forward mode (the sandbox generates its own key at boot). */
    readonly apiKey: string | undefined;
    readonly baseUrl: string;
    readonly timeoutMs: number;
    readonly maxAttempts: number;
    readonly retryBaseDelayMs: number;
    readonly retryMaxDelayMs: number;
    readonly maxConcurrency: number;
    readonly maxConnections: number;
    /** Contacts served again within this many ms, per API key, without asking telli; 0 = off. */
    readonly cacheTtlMs: number;
    /** Most contacts the cache keeps, across keys. */
    readonly cacheMaxEntries: number;
  };
  /** Overall budget for one GraphQL request's upstream work, retries and queueing included. */
  readonly requestDeadlineMs: number;
  readonly logLevel: LogLevel;
  readonly limits: QueryLimits;
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
  /** OpenTelemetry export; undefined = tracing off. */
  readonly tracing: { readonly otlpTracesUrl: string; readonly serviceName: string } | undefined;
  readonly sandbox: { readonly port: number; readonly latencyMs: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_TELLI_BASE_URL = 'https://api.telli.com';

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
    mode: e.TELLI_API_KEY || e.TELLI_AUTH === 'forward' ? 'telli' : 'sandbox',
    telli: {
      auth: e.TELLI_AUTH,
      apiKey: e.TELLI_API_KEY,
      baseUrl: e.TELLI_BASE_URL ?? DEFAULT_TELLI_BASE_URL,
      timeoutMs: e.TELLI_TIMEOUT_MS,
      maxAttempts: e.TELLI_MAX_ATTEMPTS,
      retryBaseDelayMs: e.TELLI_RETRY_BASE_MS,
      retryMaxDelayMs: e.TELLI_RETRY_MAX_MS,
      maxConcurrency: e.TELLI_MAX_CONCURRENCY,
      maxConnections: e.TELLI_MAX_CONNECTIONS,
      cacheTtlMs: e.TELLI_CACHE_TTL_MS,
      cacheMaxEntries: e.TELLI_CACHE_MAX_ENTRIES,
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
    callerAuth: { tokens: e.CALLER_TOKENS ?? [], header: e.CALLER_TOKEN_HEADER },
    introspection: e.INTROSPECTION,
    csrfPrevention: e.CSRF_PREVENTION,
    metrics: e.METRICS,
    metricsToken: e.METRICS_TOKEN,
    readinessCacheMs: e.READINESS_CACHE_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    tracing: tracesUrl(e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, e.OTEL_EXPORTER_OTLP_ENDPOINT, e.OTEL_SERVICE_NAME),
    sandbox: { port: e.SANDBOX_PORT, latencyMs: e.SANDBOX_LATENCY_MS },
  };
  return deepFreeze(config);
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
