import { z } from 'zod';
import { recordIdKey } from './shared/ids.js';
import { readV2ListPage } from './shared/list-page.js';
import { scoped, SingleFlight } from './shared/single-flight.js';
import { TtlCache } from './shared/ttl-cache.js';
import { TelliContractError } from './transport/errors.js';
import { RETRY } from './transport/retry-policy.js';
import type { CallOptions, Transport } from './transport/transport.js';

/**
 * telli's AI phone agents: `GET /v2/agents` (the `/v2/contacts` envelope) and `GET /v2/agents/{id}`
 * (§12). No doc page: the fields are the ones telli's integrations read, all optional but `id`.
 */
export const AGENT_ENDPOINTS = {
  agents: 'GET /v2/agents',
  agent: 'GET /v2/agents/{id}',
} as const;

export interface TelliAgent {
  id: string;
  title: string | null;
  /** telli's language code verbatim, e.g. `de`. */
  language: string | null;
  createdAt: string | null;
}

/** One page of `GET /v2/agents`, in telli's order. */
export interface AgentPage {
  /** An agent that breaks the contract is a `TelliContractError` in its slot. */
  agents: (TelliAgent | TelliContractError)[];
  hasNextPage: boolean;
  /** Pass back as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

export interface AgentReads {
  /** One page of agents. `limit` must be 1–100; `cursor` is telli's `nextCursor`. */
  listAgents(page: { limit: number; cursor: string | null }, call: CallOptions): Promise<AgentPage>;
  /** One agent by id, or `null` on 404. Throws a `TelliError` otherwise. */
  getAgent(id: string, call: CallOptions): Promise<TelliAgent | null>;
}

const optionalString = z.string().nullish();

export const agentSchema = z
  .object({ id: z.string().min(1), title: optionalString, language: optionalString, createdAt: optionalString })
  .transform((a): TelliAgent => ({
    id: a.id,
    title: a.title ?? null,
    language: a.language ?? null,
    createdAt: a.createdAt ?? null,
  }));

export function createAgentReads(transport: Transport): AgentReads {
  return {
    async listAgents({ limit, cursor }, call) {
      const page = await readV2ListPage(
        transport,
        AGENT_ENDPOINTS.agents,
        '/v2/agents',
        agentSchema,
        { limit, cursor, call },
        RETRY.read,
      );
      return { agents: page.items, hasNextPage: page.hasNextPage, nextCursor: page.nextCursor };
    },

    async getAgent(id, call) {
      const endpoint = AGENT_ENDPOINTS.agent;
      const agent = await transport.readOne(
        endpoint,
        `/v2/agents/${encodeURIComponent(id)}`,
        call,
        agentSchema,
        RETRY.read,
      );
      // §12: the answer's id equals the requested one. Another agent must not be cached under this id.
      if (agent !== null && recordIdKey(agent.id) !== recordIdKey(id)) {
        throw new TelliContractError(endpoint, ['id: not the agent asked for']);
      }
      return agent;
    },
  };
}

/** How agents are shared across requests (see `createCoalescingClient` for the whole). */
export interface SharedAgentOptions {
  /** How long an agent telli returned (by id or listed) may be served again for the same key; 0: no cache. */
  ttlMs: number;
  /** Most agents kept, across all keys. */
  maxEntries: number;
  now: () => number;
}

/**
 * Agent reads shared across requests: single-flight per (API key, endpoint and arguments), and an
 * optional TTL cache (agents rarely change) that listed pages fill too. Like contacts: an agent
 * is kept, "not found" and errors never are.
 */
export function shareAgentReads(inner: AgentReads, options: SharedAgentOptions): AgentReads {
  const { now } = options;
  const agents = options.ttlMs > 0 ? new TtlCache<TelliAgent>(options.ttlMs, options.maxEntries) : undefined;
  const flights = new SingleFlight();
  const remember = (apiKey: string, agent: TelliAgent, at: number) =>
    agents?.set(scoped(apiKey, recordIdKey(agent.id)), agent, at);
  return {
    async listAgents(page, call) {
      const result = await flights.run(
        `agents\n${page.limit}\n${page.cursor ?? ''}`,
        AGENT_ENDPOINTS.agents,
        call,
        (c) => inner.listAgents(page, c),
      );
      if (agents && call.apiKey) {
        const at = now();
        for (const agent of result.agents) if (!(agent instanceof Error)) remember(call.apiKey, agent, at);
      }
      return result;
    },

    async getAgent(id, call) {
      const { apiKey } = call;
      const cached = apiKey ? agents?.get(scoped(apiKey, recordIdKey(id)), now()) : undefined;
      if (cached) return cached;
      const agent = await flights.run(`agent\n${recordIdKey(id)}`, AGENT_ENDPOINTS.agent, call, (c) =>
        inner.getAgent(id, c),
      );
      if (agent && apiKey) remember(apiKey, agent, now());
      return agent;
    },
  };
}
