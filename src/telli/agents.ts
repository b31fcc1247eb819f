import { z } from 'zod';
import { recordIdKey } from './shared/ids.js';
import { readV2ListPage } from './shared/list-page.js';
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
