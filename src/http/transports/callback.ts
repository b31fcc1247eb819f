import type { ExecutionResult } from 'graphql';
import { createGraphQLError, type FetchAPI, type Plugin } from 'graphql-yoga';
import { z } from 'zod';
import { ErrorCode } from '../../error-codes.js';
import type { Logger } from '../../logger.js';
import type { CallbackOutcome, CallbackSender } from './callback-sender.js';
import { acceptsWithParameter } from './media-types.js';
import { isAsyncIterable, resultJson } from './wire.js';

/**
 * Apollo's HTTP callback protocol 1.0 (Apollo Router's `callback` subscription mode; Hive
 * Gateway's `http-callback` transport). The router POSTs the subscription with
 * `Accept: application/json;callbackSpec=1.0` and, in `extensions.subscription`, where to send
 * its events (`callbackUrl`, `subscriptionId`, `verifier`, `heartbeatIntervalMs`). The
 * subscription is opened as any other (caller, key, limits and tenant rules are the route's);
 * then this transport:
 *
 * 1. POSTs `check` to the callback URL and waits for a 2xx, before answering;
 * 2. answers `{"data":null}` (or 400 when the router did not confirm, and the subscription ends);
 * 3. POSTs each event as `next`, in order; and `check` as a heartbeat, at least every
 *    `heartbeatIntervalMs` (see `heartbeatPeriodMs`);
 * 4. POSTs `complete` when the server ends the subscription (shutdown), with `errors` when it failed.
 *
 * A 404 from the router means it has dropped the subscription: it ends here too, silently. A
 * message that cannot be delivered (other 4xx, or 5xx and failures after retries) ends it too.
 * With Redis the events come from every instance's webhooks, through the hub, like SSE's.
 *
 * The layer POSTs to a URL a caller names, so which URLs may be named is a policy
 * (`SUBSCRIPTION_CALLBACK_URLS`, docs/operations.md "Callback subscriptions").
 */
export const CALLBACK_SPEC = 'callbackSpec';

/** Heartbeats go out at least this often, whatever the router asks (see `heartbeatPeriodMs`). */
export const CALLBACK_HEARTBEAT_MAX_MS = 5_000;

/** Which callback URLs a caller may name. */
export type CallbackUrlPolicy =
  { kind: 'any' } | { kind: 'prefixes'; prefixes: readonly string[] } | { kind: 'none'; reason: string };

export interface CallbackSubscriptionsOptions {
  policy: CallbackUrlPolicy;
  sender: CallbackSender;
  logger: Logger;
  /** Told what became of every message (metrics). */
  onMessage?(action: 'check' | 'next' | 'complete', outcome: 'delivered' | 'gone' | 'failed'): void;
}

export interface CallbackSubscriptions {
  /** The Yoga plugin: before `useRefusals`, which answers 406 when no processor took the result. */
  plugin: Plugin<Record<string, unknown>, { deadline?: number; requestId?: string }>;
  /** Callback subscriptions running now. */
  open(): number;
  /**
   * Shutdown: waits, at most `timeoutMs`, until every callback subscription has ended — the hub
   * completes them first, and each then POSTs `complete` to its router.
   */
  drain(timeoutMs: number): Promise<void>;
}

/**
 * How often the layer checks in: at most every `CALLBACK_HEARTBEAT_MAX_MS`, and a fifth sooner
 * than the router's interval. Sooner than asked, because a check that arrives late ends the
 * subscription at the router (Hive Gateway tolerates no missed beat, Apollo Router two); at most
 * every 5 s — and every 5 s when the router turned heartbeats off (0), a check being a valid
 * message at any time — because a 404 to a check is how the layer learns that the router has
 * dropped a subscription, whose slot under the subscription limits is held until then.
 */
export function heartbeatPeriodMs(heartbeatIntervalMs: number): number {
  if (heartbeatIntervalMs === 0) return CALLBACK_HEARTBEAT_MAX_MS;
  return Math.min(CALLBACK_HEARTBEAT_MAX_MS, Math.floor(heartbeatIntervalMs * 0.8));
}

const text = (max: number) => z.string().min(1).max(max);

/** `extensions.subscription`, camelCase (callbackSpec 1.0) or the pre-1.0 snake_case Apollo Server still reads. */
const extensionSchema = z
  .object({
    callbackUrl: text(2048).optional(),
    callback_url: text(2048).optional(),
    subscriptionId: text(256).optional(),
    subscription_id: text(256).optional(),
    verifier: text(1024),
    heartbeatIntervalMs: z.number().int().optional(),
    heartbeat_interval_ms: z.number().int().optional(),
  })
  .transform((e, ctx) => {
    const callbackUrl = e.callbackUrl ?? e.callback_url;
    const id = e.subscriptionId ?? e.subscription_id;
    // Apollo Server's default when the router sends none.
    const heartbeatIntervalMs = e.heartbeatIntervalMs ?? e.heartbeat_interval_ms ?? 5_000;
    if (!callbackUrl || !id) {
      ctx.addIssue({ code: 'custom', message: 'callbackUrl and subscriptionId are required' });
      return z.NEVER;
    }
    if (heartbeatIntervalMs !== 0 && (heartbeatIntervalMs < 1_000 || heartbeatIntervalMs > 3_600_000)) {
      ctx.addIssue({ code: 'custom', message: 'heartbeatIntervalMs must be 0 (off) or 1000–3600000' });
      return z.NEVER;
    }
    return { callbackUrl, id, verifier: e.verifier, heartbeatIntervalMs };
  });

type Target = z.output<typeof extensionSchema> & { url: URL };

const badRequest = (message: string) =>
  createGraphQLError(message, { extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } } });

/** Whether `policy` lets a caller name `url` (already http or https, without credentials). */
export function callbackUrlAllowed(policy: CallbackUrlPolicy, url: URL): string | undefined {
  switch (policy.kind) {
    case 'any':
      return undefined;
    case 'none':
      return policy.reason;
    case 'prefixes':
      return policy.prefixes.some((prefix) => underPrefix(url, new URL(prefix)))
        ? undefined
        : 'callbackUrl is not under any of SUBSCRIPTION_CALLBACK_URLS.';
  }
}

/** Same scheme, host and port, and a path at or under the prefix's, segment by segment. */
function underPrefix(url: URL, prefix: URL): boolean {
  if (url.origin !== prefix.origin) return false;
  const base = prefix.pathname;
  if (url.pathname === base || base.endsWith('/')) return url.pathname.startsWith(base);
  return url.pathname.startsWith(`${base}/`);
}

export function createCallbackSubscriptions(options: CallbackSubscriptionsOptions): CallbackSubscriptions {
  const log = options.logger.child({ component: 'callback' });
  const targets = new WeakMap<Request, Target>();
  const running = new Set<Promise<void>>();

  /** Reads and checks the router's extension before anything executes; throws a 400 refusal. */
  function targetOf(extension: unknown): Target {
    const parsed = extensionSchema.safeParse(extension);
    if (!parsed.success) {
      throw badRequest(
        `A callback subscription (Accept: application/json;callbackSpec=1.0) needs extensions.subscription { callbackUrl, subscriptionId, verifier, heartbeatIntervalMs }: ${parsed.error.issues[0]?.message ?? 'invalid'}.`,
      );
    }
    let url: URL;
    try {
      url = new URL(parsed.data.callbackUrl);
    } catch {
      throw badRequest('extensions.subscription.callbackUrl is not a URL.');
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
      throw badRequest('extensions.subscription.callbackUrl must be an http(s) URL without credentials.');
    }
    const refused = callbackUrlAllowed(options.policy, url);
    if (refused) throw badRequest(refused);
    return { ...parsed.data, url };
  }

  /** POSTs one message, counting it; `deadline` bounds its retries. */
  async function send(
    target: Target,
    action: 'check' | 'next' | 'complete',
    extra: string,
    deadline?: number,
  ): Promise<CallbackOutcome> {
    const body = `{"kind":"subscription","action":"${action}","id":${JSON.stringify(target.id)},"verifier":${JSON.stringify(target.verifier)}${extra}}`;
    const outcome = await options.sender.post(target.url.href, body, deadline);
    options.onMessage?.(action, typeof outcome === 'string' ? outcome : 'failed');
    return outcome;
  }

  /**
   * The subscription after the router confirmed it: events as `next`, heartbeats as `check`, and
   * `complete` when the server ends it. Ends early, ending the stream (and freeing its slot), when
   * the router has dropped it or cannot be reached.
   */
  async function run(target: Target, stream: AsyncIterator<ExecutionResult>, fetchAPI: FetchAPI): Promise<void> {
    const where = { callbackHost: target.url.host, subscriptionId: target.id };
    let over = false;
    const stop = (outcome: CallbackOutcome, action: string) => {
      if (over) return;
      over = true;
      if (outcome === 'gone') log.debug(where, 'callback subscription ended by the router (404)');
      else
        log.warn(
          { ...where, action, reason: typeof outcome === 'string' ? outcome : outcome.failed },
          'callback subscription ended: the router cannot be reached',
        );
      void stream.return?.();
    };
    const heartbeat = setInterval(() => {
      void send(target, 'check', '').then((outcome) => {
        if (outcome !== 'delivered') stop(outcome, 'check');
      });
    }, heartbeatPeriodMs(target.heartbeatIntervalMs));
    try {
      for (;;) {
        let item: IteratorResult<ExecutionResult>;
        try {
          item = await stream.next();
        } catch (error) {
          log.error({ ...where, err: error }, 'a callback subscription failed');
          if (!over) {
            const errors = [{ message: 'Unexpected error.', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }];
            await send(target, 'complete', `,"errors":${JSON.stringify(errors)}`);
          }
          return;
        }
        if (over) return;
        if (item.done) {
          // The server ended it (shutdown): the router may subscribe again, elsewhere.
          await send(target, 'complete', '');
          return;
        }
        const outcome = await send(target, 'next', `,"payload":${await resultJson(item.value, fetchAPI)}`);
        if (outcome !== 'delivered') stop(outcome, 'next');
      }
    } finally {
      over = true;
      clearInterval(heartbeat);
    }
  }

  const plugin: CallbackSubscriptions['plugin'] = {
    onParams({ request, params }) {
      if (!acceptsWithParameter(request.headers.get('accept'), 'application/json', CALLBACK_SPEC, '1.0')) return;
      const extension = (params.extensions as Record<string, unknown> | undefined)?.['subscription'];
      if (extension === undefined) return;
      targets.set(request, targetOf(extension));
    },
    onResultProcess({ request, result, setResultProcessor, serverContext }) {
      const target = targets.get(request);
      if (!target || !isAsyncIterable(result)) return;
      setResultProcessor(async (subscription, fetchAPI) => {
        const stream = (subscription as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]();
        // Before answering: the router confirms the URL, the id and the verifier.
        const checked = await send(target, 'check', '', serverContext.deadline);
        if (checked !== 'delivered' || request.signal.aborted) {
          await stream.return?.();
          const why = checked === 'delivered' ? 'the router left' : checked === 'gone' ? 'HTTP 404' : checked.failed;
          const message = `The callback URL did not confirm the subscription (check: ${why}); nothing was subscribed.`;
          return new fetchAPI.Response(
            JSON.stringify({ errors: [{ message, extensions: { code: ErrorCode.BAD_REQUEST } }] }),
            { status: 400, headers: { 'content-type': 'application/json' } },
          );
        }
        const done = run(target, stream, fetchAPI).catch((error: unknown) =>
          log.error({ err: error, subscriptionId: target.id }, 'a callback subscription failed'),
        );
        running.add(done);
        void done.finally(() => running.delete(done));
        return new fetchAPI.Response('{"data":null}', { status: 200, headers: { 'content-type': 'application/json' } });
      }, 'application/json');
    },
  };

  return {
    plugin,
    open: () => running.size,
    async drain(timeoutMs) {
      if (running.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running),
        new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]).finally(() => clearTimeout(timer));
    },
  };
}
