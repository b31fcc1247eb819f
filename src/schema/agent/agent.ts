import type { Context } from '../../context.js';
import type { AgentPage, TelliAgent } from '../../telli/index.js';
import { builder } from '../core/builder.js';
import { NodeRef } from '../core/node.js';
import { costExtensions, entityCostExtensions, UNBATCHED_READ_COST } from '../core/cost.js';
import { toGraphQLError } from '../core/errors.js';
import {
  clampFirst,
  connectionTypes,
  MAX_PAGE_SIZE,
  pageReadError,
  positionAfter,
  telliLimit,
  toConnection,
} from '../core/paging.js';
import { checkedUpstreamValue } from '../core/scalars.js';
import { parseRecordId } from '../core/telli-ids.js';

/*
 * telli's AI phone agents (`/v2/agents`). A call names its agent by id; `Call.agent` reads it
 * through the per-request `agentById` loader, so 100 calls made by 3 agents cost 3 reads.
 */

/** telli's default `limit` for `GET /v2/agents`, used when `first` is omitted. */
export const DEFAULT_AGENTS_PAGE_SIZE = 50;

export const AgentRef = builder.objectRef<TelliAgent>('Agent');
AgentRef.implement({
  interfaces: [NodeRef],
  description:
    'An AI phone agent configured in telli (`GET /v2/agents/{id}`): the one that placed or took a call. A federation entity keyed by `id`.',
  // Each `_entities` representation of an agent is one telli call (there is no batch read).
  extensions: entityCostExtensions({ perReference: UNBATCHED_READ_COST }),
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false, description: 'The telli agent id.' }),
    title: t.exposeString('title', { nullable: true, description: 'The name the agent has in telli.' }),
    language: t.exposeString('language', {
      nullable: true,
      description: "The language the agent speaks, as telli's code (e.g. `de`, `en`).",
    }),
    createdAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the agent was created in telli.',
      resolve: (agent) => checkedUpstreamValue('DateTime', agent.createdAt),
    }),
  }),
});

/** An agent by id, or null when telli has none (a 404). */
export function loadAgent(ctx: Context, id: string): Promise<TelliAgent | null> {
  return ctx.loaders.agentById
    .load(parseRecordId(id, 'agent'))
    .catch((error: unknown) => Promise.reject(toGraphQLError(error, ctx.keySource, 'agent')));
}

builder.asEntity(AgentRef, {
  key: builder.selection<{ id: string }>('id'),
  resolveReference: (reference, ctx) => loadAgent(ctx, String(reference.id)),
});

const AgentConnectionRef = connectionTypes(AgentRef, {
  name: 'Agent',
  item: 'agent',
  items: 'agents',
  edgeDescription: 'An agent in `agents`, with the cursor to resume after it.',
  cursorDescription: 'Opaque. Pass as `after` to continue right after this agent.',
  connectionDescription: "A page of agents in telli's order (a Relay connection over `GET /v2/agents`).",
});

builder.queryFields((t) => ({
  agent: t.field({
    type: AgentRef,
    nullable: true,
    description: 'The agent with this telli id (`GET /v2/agents/{id}`: one telli call), or null when telli has none.',
    args: { id: t.arg.id({ required: true, description: 'The telli agent id.' }) },
    extensions: costExtensions({ fanOut: { perItem: UNBATCHED_READ_COST, items: () => 1 } }),
    resolve: (_root, { id }, ctx) => loadAgent(ctx, String(id)),
  }),
  agents: t.field({
    type: AgentConnectionRef,
    nullable: false,
    description:
      "The account's agents, page by page (`GET /v2/agents`: one telli call per page), in telli's order; telli offers no filter, sort or total count.",
    args: {
      first: t.arg.int({
        required: false,
        description: `Agents per page, clamped to 1–${MAX_PAGE_SIZE} (telli's range); ${DEFAULT_AGENTS_PAGE_SIZE} when omitted.`,
      }),
      after: t.arg.string({
        required: false,
        description:
          'A cursor from a previous page (`pageInfo.endCursor` or an edge `cursor`); omit for the first page.',
      }),
    },
    extensions: costExtensions({
      fanOut: { perItem: UNBATCHED_READ_COST, items: (args) => clampFirst(args['first'], DEFAULT_AGENTS_PAGE_SIZE) },
    }),
    resolve: async (_root, { first, after }, ctx) => {
      const size = clampFirst(first, DEFAULT_AGENTS_PAGE_SIZE);
      const position = positionAfter(after);
      let page: AgentPage;
      try {
        page = await ctx.loaders.agentsPage.load({ limit: telliLimit(position, size), cursor: position.telliCursor });
      } catch (error) {
        throw pageReadError(error, after, ctx, 'agent');
      }
      return toConnection(
        { items: page.agents, hasNextPage: page.hasNextPage, nextCursor: page.nextCursor },
        position,
        size,
        (agent: TelliAgent) => agent,
      );
    },
  }),
}));
