import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import { createContextFactory, type Context, type ContextDeps } from './context.js';
import type { Logger } from './logger.js';
import { useRequestBodyLimit } from './request-body-limit.js';
import { isRejectedKey } from './schema/errors.js';
import { schema } from './schema/index.js';
import { createCoalescingClient, type ContactCacheOptions } from './telli/index.js';

export interface AppDeps extends ContextDeps {
  /** The query GraphiQL opens with (sandbox mode puts a real demo contact id in it). */
  graphiqlDefaultQuery?: string;
  /** Contacts shared across requests for a short time, per API key; off unless `ttlMs` > 0. */
  contactCache?: ContactCacheOptions;
}

export type App = YogaServerInstance<Record<string, unknown>, Context>;

/**
 * The whole GraphQL layer as a fetch-style handler: `app.fetch(request)` in tests, bound to
 * `node:http` by `server.ts` in production. Built only from injected parts; never reads env.
 */
export function createApp(deps: AppDeps): App {
  // One per app: concurrent requests with the same key share upstream calls (and, when enabled,
  // recently read contacts). Below the per-request loaders, which still batch and memoise.
  const telli = createCoalescingClient(deps.telli, deps.contactCache);
  return createYoga<Record<string, unknown>, Context>({
    schema,
    context: createContextFactory({ ...deps, telli }),
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    // Self-hosted GraphiQL assets: Yoga's default page loads them from a CDN, which fails offline
    // and behind strict corporate networks. Imported on the first GraphiQL page, not at boot: the
    // module is ~30 MB of strings in the heap and a noticeable share of start-up time.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    graphiql: {
      title: 'telli-graphql',
      ...(deps.graphiqlDefaultQuery !== undefined && { defaultQuery: deps.graphiqlDefaultQuery }),
    },
    // Expected failures are GraphQLErrors with a code; everything else is masked. `isDev` is pinned
    // off so NODE_ENV=development can never put stack traces or upstream details into responses.
    maskedErrors: { isDev: false },
    logging: yogaLogger(deps.logger),
    // Replaced by useRequestBodyLimit: same limit, without a stream pipeline per request.
    maxRequestBodySize: false,
    plugins: [useRequestBodyLimit(), useUnexpectedErrorLog(), useReleaseRequestBudget()],
  });
}

/** Execution is over, so no resolver will call telli again for this request: free its budget. */
function useReleaseRequestBudget(): Plugin<Context> {
  return {
    onExecute() {
      return { onExecuteDone: ({ args }) => args.contextValue.release() };
    },
  };
}

/** Logs every error Yoga is about to mask, with the request id, so operators can find it. */
function useUnexpectedErrorLog(): Plugin<Context> {
  return {
    onExecute() {
      return {
        onExecuteDone({ args, result }) {
          if (!('errors' in result) || !result.errors) return;
          for (const error of result.errors) {
            const original = error.originalError;
            if (!original || original instanceof GraphQLError) continue;
            if (isRejectedKey(original)) {
              // Every request fails until an operator fixes TELLI_API_KEY: say so plainly.
              args.contextValue.logger.fatal(
                { err: original, path: error.path, alert: 'telli-server-key-rejected' },
                `telli rejected this server's API key (HTTP ${original.status}): check TELLI_API_KEY`,
              );
            } else {
              args.contextValue.logger.error(
                { err: original, path: error.path },
                'unexpected error (masked for the client)',
              );
            }
          }
        },
      };
    },
  };
}

function yogaLogger(logger: Logger) {
  const yoga = logger.child({ component: 'yoga' });
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const [first, ...rest] = args;
      // Errors Yoga masks were already logged, with the request id, by useUnexpectedErrorLog.
      if (first instanceof GraphQLError && first.originalError) yoga.debug({ err: first }, first.message);
      else if (first instanceof Error) yoga[level]({ err: first }, first.message);
      else yoga[level]({ details: rest.length ? rest : undefined }, String(first));
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
