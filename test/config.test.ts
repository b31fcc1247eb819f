import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, VARIABLES, type Variable } from '../src/config.js';

describe('parseConfig', () => {
  it('defaults to sandbox mode with no environment at all', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      logLevel: 'info',
      telli: { mode: 'sandbox', sandboxPort: 0, sandboxLatencyMs: 0, timeoutMs: 5_000, maxAttempts: 3 },
    });
    expect(config.telli).not.toHaveProperty('apiKey');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.telli)).toBe(true);
  });

  it('uses telli with a key, coercing numbers', () => {
    const config = parseConfig({
      TELLI_API_KEY: 'key_123',
      TELLI_BASE_URL: 'http://127.0.0.1:9999/prefix',
      TELLI_TIMEOUT_MS: '2500',
      PORT: '8080',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      port: 8080,
      logLevel: 'debug',
      telli: { mode: 'server', apiKey: 'key_123', baseUrl: 'http://127.0.0.1:9999/prefix', timeoutMs: 2500 },
    });
  });

  it('reports every bad variable at once, by name, without echoing the key', () => {
    let error: unknown;
    try {
      parseConfig({
        PORT: 'eighty',
        TELLI_TIMEOUT_MS: '-5',
        TELLI_BASE_URL: 'ftp://x',
        LOG_LEVEL: 'loud',
        TELLI_API_KEY: 'secret key',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['PORT', 'TELLI_TIMEOUT_MS', 'TELLI_BASE_URL', 'LOG_LEVEL', 'TELLI_API_KEY']) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('secret key');
  });

  it('reports a broken rule between variables beside a bad variable', () => {
    expect(() => parseConfig({ PORT: 'x', TELLI_AUTH: 'forward', TELLI_API_KEY: 'k' })).toThrow(
      /PORT must be a number[\s\S]*TELLI_API_KEY must not be set with TELLI_AUTH=forward/,
    );
  });

  it('refuses an empty key, and a base URL without a key, instead of silently using the sandbox', () => {
    expect(() => parseConfig({ TELLI_API_KEY: '' })).toThrow(/TELLI_API_KEY must not be empty/);
    expect(() => parseConfig({ TELLI_BASE_URL: 'https://api.telli.com' })).toThrow(/TELLI_API_KEY is required/);
  });

  it('forwarded-key mode needs no server key and refuses one', () => {
    const forward = parseConfig({ TELLI_AUTH: 'forward' });
    expect(forward.telli).toMatchObject({ mode: 'forward', baseUrl: 'https://api.telli.com' });
    expect(forward.telli).not.toHaveProperty('apiKey');
    expect(() => parseConfig({ TELLI_AUTH: 'forward', TELLI_API_KEY: 'k' })).toThrow(/TELLI_API_KEY must not be set/);
    expect(() => parseConfig({ TELLI_AUTH: 'sometimes' })).toThrow(/TELLI_AUTH/);
  });

  it('reads the resilience settings', () => {
    expect(
      parseConfig({
        TELLI_MAX_ATTEMPTS: '5',
        TELLI_MAX_CONCURRENCY: '8',
        REQUEST_DEADLINE_MS: '3000',
        TELLI_RETRY_BASE_MS: '50',
      }),
    ).toMatchObject({ requestDeadlineMs: 3000, telli: { maxAttempts: 5, maxConcurrency: 8, retryBaseDelayMs: 50 } });
    expect(() => parseConfig({ TELLI_MAX_ATTEMPTS: '0' })).toThrow(/TELLI_MAX_ATTEMPTS/);
  });

  it('reads the shared contact cache settings: off unless a TTL is given', () => {
    expect(parseConfig({}).telli).toMatchObject({ cacheTtlMs: 0, cacheMaxEntries: 10_000 });
    expect(parseConfig({ TELLI_CACHE_TTL_MS: '2000', TELLI_CACHE_MAX_ENTRIES: '500' }).telli).toMatchObject({
      cacheTtlMs: 2000,
      cacheMaxEntries: 500,
    });
    expect(() => parseConfig({ TELLI_CACHE_TTL_MS: '-1', TELLI_CACHE_MAX_ENTRIES: '0' })).toThrow(
      /TELLI_CACHE_TTL_MS[\s\S]*TELLI_CACHE_MAX_ENTRIES/,
    );
  });

  it('reads the agent cache TTL: off by default, bounded to an hour', () => {
    expect(parseConfig({}).telli.agentCacheTtlMs).toBe(0);
    expect(parseConfig({ TELLI_AGENT_CACHE_TTL_MS: '30000' }).telli.agentCacheTtlMs).toBe(30_000);
    expect(() => parseConfig({ TELLI_AGENT_CACHE_TTL_MS: '3600001' })).toThrow(/TELLI_AGENT_CACHE_TTL_MS/);
    expect(() => parseConfig({ TELLI_AGENT_CACHE_TTL_MS: 'soon' })).toThrow(/TELLI_AGENT_CACHE_TTL_MS/);
  });

  it('reads METRICS_TOKEN, refusing a short one without echoing it', () => {
    expect(parseConfig({}).metricsToken).toBeUndefined();
    const token = 'scrape-token-0123456789abcdef';
    expect(parseConfig({ METRICS_TOKEN: token }).metricsToken).toBe(token);
    let error: unknown;
    try {
      parseConfig({ METRICS_TOKEN: 'too-short-secret' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toContain('METRICS_TOKEN');
    expect(String((error as Error).message)).not.toContain('too-short-secret');
  });

  it('reads CORS_ORIGINS as origins in the form browsers send them: none by default', () => {
    expect(parseConfig({}).corsOrigins).toEqual([]);
    expect(
      parseConfig({ CORS_ORIGINS: 'HTTPS://App.Example.com/, http://localhost:5173,https://x.example:443' })
        .corsOrigins,
    ).toEqual(['https://app.example.com', 'http://localhost:5173', 'https://x.example']);
  });

  it('refuses CORS_ORIGINS entries that are not origins, and `*`', () => {
    const problems = (value: string) => {
      try {
        parseConfig({ CORS_ORIGINS: value });
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    expect(problems('*')).toEqual(['CORS_ORIGINS must list origins; `*` (any site) is not accepted']);
    for (const value of [
      'app.example.com',
      'https://app.example.com/path',
      'https://user:secret@app.example.com',
      'https://app.example.com?x=1',
      'ftp://files.example.com',
      'null',
    ]) {
      expect({ value, problems: problems(value) }).toEqual({
        value,
        problems: ['CORS_ORIGINS must be origins: scheme://host[:port], http or https, without a path'],
      });
    }
  });

  it('treats other empty variables as unset', () => {
    expect(parseConfig({ PORT: '', LOG_LEVEL: '' })).toMatchObject({ port: 4000, logLevel: 'info' });
  });

  describe('live updates', () => {
    const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    const next = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;

    it('defaults: no webhook route, events in process, 72 h dedupe, autopilot every 5 s in sandbox mode', () => {
      const config = parseConfig({});
      expect(config.live).toEqual({
        webhookSecrets: [],
        webhookMaxBodyBytes: 1024 * 1024,
        webhookMaxInFlight: 32,
        dedupeTtlSeconds: 72 * 3600,
        redis: undefined,
        maxSubscriptions: 1000,
        maxSubscriptionsPerCaller: 100,
        maxSubscriptionsPerPeer: 250,
      });
      expect(config.telli).toMatchObject({ mode: 'sandbox', sandboxAutopilotMs: 5000, sandboxCallMs: 3000 });
      expect(parseConfig({ SANDBOX_AUTOPILOT_MS: '0' }).telli).toMatchObject({ sandboxAutopilotMs: 0 });
    });

    it('reads several comma-separated secrets (rotation) and Redis settings', () => {
      const config = parseConfig({
        TELLI_API_KEY: 'k',
        TELLI_WEBHOOK_SECRET: ` ${secret} ,${next}`,
        REDIS_URL: 'rediss://user:pw@redis.internal:6380/2',
        REDIS_PREFIX: 'prod:',
        WEBHOOK_DEDUPE_SECONDS: '200000',
      });
      expect(config.live).toMatchObject({
        webhookSecrets: [secret, next],
        dedupeTtlSeconds: 200000,
        redis: { url: 'rediss://user:pw@redis.internal:6380/2', prefix: 'prod:', timeoutMs: 2000 },
      });
    });

    it('refuses a dedupe window shorter than the 5-minute signature tolerance, with every other problem', () => {
      // A captured delivery can be replayed while its timestamp is within 5 minutes: a shorter
      // window would forget its id first and process it again.
      for (const seconds of ['1', '299']) {
        let error: unknown;
        try {
          parseConfig({ WEBHOOK_DEDUPE_SECONDS: seconds, PORT: 'x' });
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems).toEqual([
          'PORT must be a number',
          expect.stringMatching(/^WEBHOOK_DEDUPE_SECONDS must be >= 300 \(Svix's 5-minute signature tolerance/),
        ]);
      }
      expect(parseConfig({ WEBHOOK_DEDUPE_SECONDS: '300' }).live.dedupeTtlSeconds).toBe(300);
    });

    it('refuses a malformed secret or Redis URL without echoing either', () => {
      const bad = 'whsec_short-and-Secret-ish';
      let error: unknown;
      try {
        parseConfig({ TELLI_WEBHOOK_SECRET: `${secret},${bad}`, REDIS_URL: 'http://user:hunter2@redis:6379' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).toContain('TELLI_WEBHOOK_SECRET');
      expect(message).toContain('REDIS_URL');
      for (const leaked of [bad, secret, 'hunter2', 'Secret-ish']) expect(message).not.toContain(leaked);
    });
  });
});

/**
 * docs/configuration.md is the table of variables users read: one row per entry of `VARIABLES`, in
 * the same order, each with the default the parser really applies and the entry's meaning.
 */
describe('docs/configuration.md', () => {
  interface Row {
    name: string;
    default: string;
    meaning: string;
  }

  const page = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');

  /** Every row of the variables table; a row not of the form `| `NAME` | default | meaning |` is kept whole. */
  function documentedRows(): Row[] {
    const lines = page.split('\n');
    const header = lines.findIndex((line) => /^\| Variable\s*\| Default\s*\| Meaning\s*\|$/.test(line));
    expect(header, 'the variables table').toBeGreaterThanOrEqual(0);
    const rows: Row[] = [];
    for (const line of lines.slice(header + 2)) {
      if (!line.startsWith('|')) break;
      const cells = /^\| `([A-Z0-9_]+)`\s*\| (.*?)\s*\| (.*?)\s*\|$/.exec(line);
      rows.push(
        cells
          ? { name: cells[1] as string, default: cells[2] as string, meaning: cells[3] as string }
          : { name: line, default: '', meaning: '' },
      );
    }
    return rows;
  }

  /** The Default cell: the value the parser applies, or what leaving the variable unset does. */
  function documentedDefault(variable: Variable): string {
    if (variable.default !== undefined) return `\`${String(variable.default)}\``;
    return variable.unset ? `_(unset → ${variable.unset})_` : '_(unset)_';
  }

  const table: Row[] = Object.entries(VARIABLES).map(([name, variable]: [string, Variable]) => ({
    name,
    default: documentedDefault(variable),
    meaning: variable.meaning,
  }));

  it('has a row for every variable the layer reads, in the same order, and no other', () => {
    expect(documentedRows().map((row) => row.name)).toEqual(table.map((row) => row.name));
  });

  it('documents each variable with the default the parser applies, and its meaning', () => {
    expect(documentedRows()).toEqual(table);
  });

  it('names the variables whose empty value is not "unset"', () => {
    const sentence = /Empty values count as unset, except ([^.]*)\./.exec(page);
    const named = [...(sentence?.[1] ?? '').matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]);
    const emptyIsSet = Object.entries(VARIABLES)
      .filter(([, variable]: [string, Variable]) => variable.emptyIsSet)
      .map(([name]) => name);
    expect(named).toEqual(emptyIsSet);
  });

  it("holds defaults that each variable's own parser accepts as they are", () => {
    for (const [name, variable] of Object.entries(VARIABLES) as [string, Variable][]) {
      if (variable.default === undefined) continue;
      expect(variable.read.safeParse(String(variable.default)), name).toEqual({
        success: true,
        data: variable.default,
      });
    }
  });
});
