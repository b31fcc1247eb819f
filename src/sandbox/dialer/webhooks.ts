import { randomBytes } from 'node:crypto';
// svix's webhook module alone (its index loads the whole REST API client too).
import { Webhook } from 'svix/dist/webhook.js';

/**
 * The sandbox's webhook sender, doing what Svix does for telli: each event is a message with an
 * id (`msg_…`) that stays the same across attempts; each attempt is signed anew (`svix-id`,
 * `svix-timestamp`, `svix-signature: v1,<base64 HMAC>`, with svix's own `Webhook.sign`) and
 * POSTed as JSON; anything but a 2xx within the timeout is retried with backoff — Svix's
 * schedule (immediately, 5 s, 5 min, …) compressed into seconds, so a test or a demo sees it.
 *
 * The target is set once known (the layer's URL exists only after it listens); messages sent
 * before then wait for it.
 */
export interface WebhookSenderOptions {
  /** The endpoint's signing secret (`whsec_…`), shared with the receiver. */
  secret: string;
  /** Waits before each redelivery; the message is given up after the last. */
  retryDelaysMs?: readonly number[];
  /** How long one attempt may take (Svix waits 15 s). */
  timeoutMs?: number;
}

/** One attempt at delivering a message, as the sender saw it. */
export interface WebhookAttempt {
  /** HTTP status, or the network error's code. */
  result: number | string;
  at: string;
}

export interface SentWebhook {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  attempts: WebhookAttempt[];
  state: 'pending' | 'delivered' | 'failed';
}

export interface WebhookSender {
  /** Where deliveries go, e.g. `http://127.0.0.1:4000/webhooks/telli`; undefined holds them. */
  setTarget(url: string | undefined): void;
  /** Queues a message and returns its id. */
  send(type: string, payload: Record<string, unknown>): string;
  /** Re-sends a delivered message under the same id, as a manual retry in Svix's portal does. */
  redeliver(id: string): void;
  /** Every message so far, oldest first. */
  readonly sent: readonly SentWebhook[];
  /** Resolves once no message is pending (delivered or given up). */
  settled(): Promise<void>;
  close(): void;
}

/** Svix's schedule, compressed: 0, 5 s, 5 min, 30 min, … → 0.1 s, 0.5 s, 2 s, 5 s, 10 s, 30 s. */
export const SANDBOX_RETRY_DELAYS_MS = [100, 500, 2_000, 5_000, 10_000, 30_000] as const;

/** Kept messages at most (oldest forgotten): the sender runs for as long as the sandbox does. */
const MAX_KEPT = 1000;

export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const signer = new Webhook(options.secret);
  const delays = options.retryDelaysMs ?? SANDBOX_RETRY_DELAYS_MS;
  const timeoutMs = options.timeoutMs ?? 15_000;
  let target: string | undefined;
  const sent: SentWebhook[] = [];
  /** Messages waiting for a target. */
  const held: SentWebhook[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let pending = 0;
  let settledWaiters: (() => void)[] = [];
  let closed = false;

  const settle = () => {
    if (pending > 0) return;
    for (const wake of settledWaiters.splice(0)) wake();
  };

  function later(fn: () => void, ms: number) {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    timers.add(timer);
  }

  async function attempt(message: SentWebhook, retry: number): Promise<void> {
    if (closed) return;
    if (!target) {
      held.push(message);
      return;
    }
    const body = JSON.stringify(message.payload);
    const timestamp = new Date();
    const signature = signer.sign(message.id, timestamp, body);
    let result: number | string;
    try {
      const response = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'svix-id': message.id,
          'svix-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'svix-signature': signature,
          'user-agent': 'telli-sandbox-webhooks',
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer();
      result = response.status;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      result = cause?.code ?? (error instanceof Error ? error.name : 'error');
    }
    message.attempts.push({ result, at: timestamp.toISOString() });
    if (typeof result === 'number' && result >= 200 && result < 300) {
      message.state = 'delivered';
    } else if (retry < delays.length && !closed) {
      later(() => void attempt(message, retry + 1), delays[retry] as number);
      return;
    } else {
      message.state = 'failed';
    }
    pending--;
    settle();
  }

  function start(message: SentWebhook) {
    message.state = 'pending';
    pending++;
    void attempt(message, 0);
  }

  return {
    setTarget(url) {
      target = url;
      if (url) for (const message of held.splice(0)) void attempt(message, 0);
    },
    send(type, payload) {
      const message: SentWebhook = {
        id: `msg_${randomBytes(12).toString('hex')}`,
        type,
        payload,
        attempts: [],
        state: 'pending',
      };
      sent.push(message);
      if (sent.length > MAX_KEPT) sent.shift();
      start(message);
      return message.id;
    },
    redeliver(id) {
      const message = sent.find((m) => m.id === id);
      if (message && message.state !== 'pending') start(message);
    },
    sent,
    settled: () => (pending === 0 ? Promise.resolve() : new Promise((resolve) => settledWaiters.push(resolve))),
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      held.length = 0;
      pending = 0;
      settle();
      settledWaiters = [];
    },
  };
}

/** A new endpoint secret, as Svix generates them: `whsec_` and base64 of 24 random bytes. */
export function createWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}
