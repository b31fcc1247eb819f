import { Agent, request } from 'undici';
import { ConcurrencyLimiter } from '../../telli/index.js';

/**
 * How the layer POSTs callback messages to a router (Apollo's HTTP callback protocol): with
 * `content-type: application/json` exactly — Hive Gateway parses a message's JSON only on that
 * exact value and silently drops anything else — and `subscription-protocol: callback/1.0`, as
 * the protocol asks of every message. A bounded number of POSTs are in flight at once, across
 * every subscription (more wait their turn, in order), over one keep-alive pool of its own.
 *
 * Each message is retried on a 5xx or a failed exchange, with backoff, a few times; never on a
 * 4xx: those carry meaning (404: the router has dropped the subscription). Redirects are not
 * followed: a callback goes to the URL the router named (and the allowlist admitted), nowhere else.
 */
export type CallbackOutcome = 'delivered' | 'gone' | { failed: string };

export interface CallbackSenderOptions {
  /** POSTs in flight at once, all subscriptions together. */
  maxInFlight: number;
  /** Attempts per message, the first included. */
  maxAttempts: number;
  /** Upper bound of one attempt: connect, headers and body. */
  attemptTimeoutMs: number;
  /** Backoff before attempt n: a random time in [0, min(retryMaxMs, retryBaseMs·2ⁿ⁻¹)). */
  retryBaseMs: number;
  retryMaxMs: number;
  random?: () => number;
}

export const DEFAULT_CALLBACK_SENDER: CallbackSenderOptions = Object.freeze({
  maxInFlight: 32,
  maxAttempts: 5,
  attemptTimeoutMs: 5_000,
  retryBaseMs: 100,
  retryMaxMs: 1_000,
});

export interface CallbackSender {
  /** POSTs `body` (JSON text) to `url`; retries until `deadline` (epoch ms) at the latest. */
  post(url: string, body: string, deadline?: number): Promise<CallbackOutcome>;
  close(): Promise<void>;
}

export function createCallbackSender(options: CallbackSenderOptions = DEFAULT_CALLBACK_SENDER): CallbackSender {
  const random = options.random ?? Math.random;
  const limiter = new ConcurrencyLimiter(options.maxInFlight);
  const agent = new Agent({
    connections: options.maxInFlight,
    connectTimeout: options.attemptTimeoutMs,
    headersTimeout: options.attemptTimeoutMs,
    bodyTimeout: options.attemptTimeoutMs,
  });

  async function attempt(url: string, body: string): Promise<CallbackOutcome | 'retry'> {
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'subscription-protocol': 'callback/1.0' },
        body,
        signal: AbortSignal.timeout(options.attemptTimeoutMs),
      });
      // Nothing of the answer is used: its status says everything.
      await response.body.dump();
      if (response.statusCode >= 200 && response.statusCode < 300) return 'delivered';
      if (response.statusCode === 404) return 'gone';
      if (response.statusCode >= 500) return 'retry';
      return { failed: `HTTP ${response.statusCode}` };
    } catch {
      return 'retry';
    }
  }

  return {
    async post(url, body, deadline = Number.POSITIVE_INFINITY) {
      for (let n = 1; ; n++) {
        const outcome = await limiter.run(() => attempt(url, body));
        if (outcome !== 'retry') return outcome;
        const wait = random() * Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** (n - 1));
        if (n >= options.maxAttempts || Date.now() + wait >= deadline) {
          return { failed: 'the callback URL did not answer (or answered 5xx)' };
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    },
    close: () => agent.close(),
  };
}
