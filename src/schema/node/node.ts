import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import type { Context } from '../../context.js';
import { loadAgent } from '../agent/agent.js';
import { loadCall } from '../call/call.js';
import { loadContact, parseContactId } from '../contact/queries.js';
import { contactNeeds } from '../contact/sources.js';
import { builder } from '../core/builder.js';
import { costExtensions, UNBATCHED_READ_COST } from '../core/cost.js';
import { asNode, NODE_TYPES, NodeRef, type NodeTypeName } from '../core/node.js';
import { typeConditions } from '../core/selection.js';
import { badUserInput } from '../core/errors.js';
import { LONE_SURROGATE, MAX_RECORD_ID_LENGTH } from '../core/telli-ids.js';

/*
 * `node(id:)`, Relay's refetch entry point. telli's ids carry no kind (contacts and calls are both
 * UUIDs), so finding an id can take one read per kind. Relay's generated refetch query spreads a
 * fragment on the concrete type (`node(id: $id) { ...ContactCard_contact }`), and the selection's
 * type conditions say which kinds are worth reading: then one read answers. Only a selection that
 * names no concrete type (just `id`, `__typename`, fragments on `Node`) tries contact, then call,
 * then agent — contacts first because they are the cheap batched read, and still go through the
 * per-request batch loader with every other contact of the operation.
 *
 * The field is in the schema clients see (and in `schema/client.graphql`), but left out of the
 * SDL this subgraph publishes to a gateway (`_service { sdl }`, `schema/schema.graphql`): a
 * supergraph has one `node`, owned by whoever can route every id, and a second subgraph that
 * declares `node` fails composition (see docs/federation.md).
 */

/** The kinds `node(id:)` reads for this selection, in the order it tries them. */
function candidates(info: GraphQLResolveInfo): readonly NodeTypeName[] {
  const asked = typeConditions(info, 'Node');
  const named = NODE_TYPES.filter((type) => asked.has(type));
  return named.length > 0 ? named : NODE_TYPES;
}

async function findNode(ctx: Context, id: string, info: GraphQLResolveInfo): Promise<object | null> {
  // The rules every kind's id obeys, checked once: BAD_USER_INPUT, not "none of the kinds".
  if (id.length < 1 || id.length > MAX_RECORD_ID_LENGTH || LONE_SURROGATE.test(id)) {
    throw badUserInput(`An id must be 1–${MAX_RECORD_ID_LENGTH} characters of well-formed Unicode.`);
  }
  for (const type of candidates(info)) {
    switch (type) {
      case 'Contact': {
        // Not a UUID: not a contact, but maybe a call or an agent.
        if (parseContactId(id) instanceof GraphQLError) break;
        const contact = await loadContact(ctx, id, contactNeeds(info));
        if (contact) return asNode(contact, 'Contact');
        break;
      }
      case 'Call': {
        const call = await loadCall(ctx, id);
        if (call) return asNode(call, 'Call');
        break;
      }
      case 'Agent': {
        const agent = await loadAgent(ctx, id);
        if (agent) return asNode(agent, 'Agent');
        break;
      }
    }
  }
  return null;
}

builder.queryField('node', (t) =>
  t.field({
    type: NodeRef,
    nullable: true,
    description:
      "The contact, call or agent with this telli id (Relay's refetch field), or null when telli has none of the kinds the selection asks for. The kinds named by the selection's fragments (`... on Contact`, as Relay's refetch queries spread) are the only ones read, each as `contact(id:)`, `call(id:)` or `agent(id:)` would; a selection naming none tries contact, then call, then agent. Served to clients of this API; not published to a federation gateway (a supergraph has one `node`).",
    args: { id: t.arg.id({ required: true, description: 'A telli id: the `id` of a Contact, Call or Agent.' }) },
    // At most a contact (a batched read, 1 like `contact(id:)`), then a call and an agent read.
    extensions: costExtensions({ fanOut: { perItem: 1 + 2 * UNBATCHED_READ_COST, items: () => 1 } }),
    // Pothos cannot type an interface field's value by kind; `asNode` tagged it for resolveType.
    resolve: (_root, { id }, ctx, info) => findNode(ctx, String(id), info) as Promise<{ id: string } | null>,
  }),
);
