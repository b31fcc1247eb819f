import { decodeOffset, json, pageLimit, v2Invalid, v2NotFound, v2Page, type Route } from '../wire.js';

/** telli's agent endpoints: `GET /v2/agents` (paged like `/v2/contacts`) and `GET /v2/agents/{id}` (§12). */
export function createAgentRoutes(): Route[] {
  return [
    {
      method: 'GET',
      segments: ['v2', 'agents'],
      name: 'GET /v2/agents',
      run: ({ account: { agents }, query }) => {
        const limit = pageLimit(query);
        if (limit === undefined) return v2Invalid('limit must be an integer between 1 and 100');
        const start = decodeOffset(query.get('cursor'), agents.length);
        if (start === undefined) return v2Invalid('invalid cursor');
        const data = agents.slice(start, start + limit);
        return v2Page(data, limit, start + data.length < agents.length, start + data.length);
      },
    },
    {
      method: 'GET',
      segments: ['v2', 'agents', '{id}'],
      name: 'GET /v2/agents/{id}',
      run: ({ account, params }) => {
        const agent = account.agentById.get((params[0] ?? '').toLowerCase());
        return agent ? json(200, agent) : v2NotFound('Agent not found');
      },
    },
  ];
}
