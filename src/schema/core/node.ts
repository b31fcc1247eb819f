import { builder } from './builder.js';

/*
 * Relay's `Node` interface (https://relay.dev/graphql/objectidentification.htm), implemented by
 * `Contact`, `Call` and `Agent` with their telli ids unchanged: federation keys, caches keyed by
 * `__typename` and `id`, and every client that already holds an id keep working. telli's ids are
 * unique per kind only as far as anyone knows, and carry no kind, so `node(id:)` may have to try
 * more than one read (see `src/schema/node/node.ts`).
 */

/** The types that implement `Node`, in the order `node(id:)` tries them. */
export const NODE_TYPES = ['Contact', 'Call', 'Agent'] as const;
export type NodeTypeName = (typeof NODE_TYPES)[number];

/**
 * Which `Node` type each value `node(id:)` returned is: the records have no kind of their own
 * (a call and an agent are plain objects). Only `node` returns `Node`-typed values, and it tags
 * each before returning it; the map holds nothing once the request's values are gone.
 */
const typeOfNode = new WeakMap<object, NodeTypeName>();

/** `value`, remembered as a `type` for `Node.resolveType`. */
export function asNode<T extends object>(value: T, type: NodeTypeName): T {
  typeOfNode.set(value, type);
  return value;
}

export const NodeRef = builder.interfaceRef<{ id: string }>('Node').implement({
  description:
    "An object with an id (Relay's `Node`): `Contact`, `Call` and `Agent`, whose `id` is telli's id. Refetch one with `node(id:)`.",
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false, description: "telli's id of the object." }),
  }),
  resolveType: (value) => typeOfNode.get(value) ?? null,
});
