import { AGENT_ENDPOINTS, createAgentReads, type AgentReads } from './agents.js';
import { CALL_ENDPOINTS, createCallReads, type CallReads } from './calls.js';
import { createV1Reads, V1_ENDPOINTS, type V1Reads } from './contacts/v1-reads.js';
import { createV2Reads, V2_ENDPOINTS, type V2Reads } from './contacts/v2-reads.js';
import { CONTACT_WRITE_ENDPOINTS, createContactWrites, type ContactWrites } from './contacts/writes.js';
import { createDialerWrites, DIALER_ENDPOINTS, type DialerWrites } from './dialer.js';
import { TelliNetworkError } from './transport/errors.js';
import { createTransport, toTelliError, type TelliClientOptions } from './transport/transport.js';

/** Every telli endpoint the layer calls, by the name metrics, logs and the sandbox's counters use. */
export const ENDPOINTS = {
  ...V1_ENDPOINTS,
  ...V2_ENDPOINTS,
  ...CALL_ENDPOINTS,
  ...AGENT_ENDPOINTS,
  ...CONTACT_WRITE_ENDPOINTS,
  ...DIALER_ENDPOINTS,
} as const;

/**
 * Every write the layer makes to telli, each taking the caller's `CallOptions` last. Members are
 * properties: closures, which `coalescing.ts` wraps unbound.
 */
export type Writes = ContactWrites & DialerWrites;

export interface TelliClient extends V1Reads, V2Reads, CallReads, AgentReads, Writes {
  /**
   * One cheap, unretried call (`GET /v1/verify-api-key`) for readiness probes: 'ok' when telli is
   * reachable (and accepts `apiKey`, when one is given), a short reason otherwise.
   */
  probe(apiKey: string | undefined): Promise<string>;
  /**
   * Whether telli accepts `apiKey`: the same call, read strictly — 2xx is valid, 401/403 rejected,
   * anything else (a 429, a 5xx, no answer) says nothing about the key.
   */
  verifyKey(apiKey: string): Promise<'valid' | 'rejected' | { unavailable: string }>;
  /** Closes pooled connections; in-flight calls finish first. */
  close(): Promise<void>;
}

/** The telli API as the layer uses it: one transport (pool, limits, retries) under every endpoint. */
export function createTelliClient(options: TelliClientOptions): TelliClient {
  const transport = createTransport(options);
  return {
    ...createV1Reads(transport, options.hooks ?? {}),
    ...createV2Reads(transport),
    ...createCallReads(transport),
    ...createAgentReads(transport),
    ...createContactWrites(transport),
    ...createDialerWrites(transport),

    async probe(apiKey) {
      const endpoint = ENDPOINTS.verifyApiKey;
      try {
        const { status } = await transport.attemptOnce(endpoint, 'GET', '/v1/verify-api-key', { apiKey });
        if (status >= 200 && status < 300) return 'ok';
        if ((status === 401 || status === 403) && apiKey) return `telli rejected the API key (HTTP ${status})`;
        // Without a key (forwarded mode) any non-5xx answer proves telli is reachable.
        return status < 500 ? 'ok' : `telli answered HTTP ${status}`;
      } catch (error) {
        const failure = toTelliError(error, endpoint, undefined);
        return failure instanceof TelliNetworkError ? `unreachable (${failure.code})` : failure.kind;
      }
    },

    async verifyKey(apiKey) {
      const endpoint = ENDPOINTS.verifyApiKey;
      try {
        const { status } = await transport.attemptOnce(endpoint, 'GET', '/v1/verify-api-key', { apiKey });
        if (status >= 200 && status < 300) return 'valid';
        if (status === 401 || status === 403) return 'rejected';
        return { unavailable: `telli answered HTTP ${status}` };
      } catch (error) {
        return { unavailable: toTelliError(error, endpoint, undefined).message };
      }
    },

    close: () => transport.close(),
  };
}
