import type { RouteHandler } from './edge.js';

/** `/health`: liveness — 200 while the process can answer at all. */
export const health: RouteHandler = () => new Response(null, { status: 200, headers: { 'cache-control': 'no-store' } });

/** One check's outcome: `'ok'`, or a short reason why not. */
export type CheckStatus = string;

/** The outcome of one readiness check, as served at `/readiness`. */
export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckStatus>;
  checkedAt: string;
}

export interface ReadinessOptions {
  /** Is the HTTP server listening and not shutting down? */
  serving: () => boolean;
  /** Cheap reachability check of telli; resolves to 'ok' or a short reason. */
  checkTelli: () => Promise<CheckStatus>;
  /** How long a telli check result is reused: probes never hammer telli. */
  cacheMs: number;
  /**
   * The event bus (Redis with REDIS_URL): 'ok' or why not. One write, bounded by Redis's command
   * timeout, so checked on every probe; concurrent probes share one check.
   */
  checkEvents?: () => Promise<CheckStatus>;
}

/**
 * `/readiness`: 200 when the config was valid (the process would not have started otherwise), the
 * server is listening and not draining, telli was reachable at the last check, and the event bus
 * can take and deliver events (with REDIS_URL: both Redis connections up and subscribed, and a
 * write done within REDIS_TIMEOUT_MS); 503 otherwise. A replica that cannot receive other instances' events would serve stale caches and
 * silent subscriptions, so it leaves the load balancer until Redis is back.
 * The telli check runs at most once per `cacheMs`, and concurrent probes share one check.
 */
export function createReadiness(options: ReadinessOptions): RouteHandler {
  let cached: { at: number; result: CheckStatus } | undefined;
  let inFlight: Promise<CheckStatus> | undefined;

  const telliStatus = async (): Promise<CheckStatus> => {
    if (cached && Date.now() - cached.at < options.cacheMs) return cached.result;
    inFlight ??= options
      .checkTelli()
      .catch(() => 'check failed')
      .then((result) => {
        cached = { at: Date.now(), result };
        inFlight = undefined;
        return result;
      });
    return inFlight;
  };

  let eventsInFlight: Promise<CheckStatus> | undefined;
  const eventsStatus = (check: () => Promise<CheckStatus>) =>
    (eventsInFlight ??= check()
      .catch(() => 'check failed')
      .finally(() => (eventsInFlight = undefined)));

  return async () => {
    const serving = options.serving();
    const [telli, events] = await Promise.all([
      serving ? telliStatus() : 'not checked',
      options.checkEvents && eventsStatus(options.checkEvents),
    ]);
    const report: ReadinessReport = {
      ready: serving && telli === 'ok' && (events === undefined || events === 'ok'),
      checks: {
        config: 'ok',
        server: serving ? 'ok' : 'not serving (starting or shutting down)',
        telli,
        ...(events !== undefined && { events }),
      },
      checkedAt: new Date(cached?.at ?? Date.now()).toISOString(),
    };
    return Response.json(report, { status: report.ready ? 200 : 503, headers: { 'cache-control': 'no-store' } });
  };
}
