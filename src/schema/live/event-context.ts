import type { Context } from '../../context.js';

/*
 * The hand-over of a subscription event's own context, from the resolver that makes it to the
 * executor that runs it.
 *
 * GraphQL executes every event of a subscription with the one context its request built, and
 * ours holds per-request loaders (whose memo would answer every later event with the first
 * event's reads) and a telli budget that ends a deadline after the subscription started. So each
 * event gets a context of its own (`ctx.forEvent()`): `subscriptions.ts` attaches it to the
 * event's payload with `withEventContext`, and the executor of subscriptions
 * (`src/http/use-event-contexts.ts`) takes it back with `eventContextOf` and runs the event with
 * it. A Symbol key keeps it out of the payload's fields.
 */
const EVENT_CONTEXT = Symbol('telli-graphql.event-context');

/** `payload`, carrying `context` for the executor to run this event with. */
export function withEventContext<T extends object>(payload: T, context: Context): T {
  return Object.assign(payload, { [EVENT_CONTEXT]: context });
}

/** The context an event's payload carries (see `withEventContext`), if any. */
export function eventContextOf(payload: unknown): Context | undefined {
  return payload && typeof payload === 'object'
    ? ((payload as { [EVENT_CONTEXT]?: Context })[EVENT_CONTEXT] ?? undefined)
    : undefined;
}
