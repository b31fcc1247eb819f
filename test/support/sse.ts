import { Webhook } from 'svix';

/**
 * A GraphQL-over-SSE client as simple as the protocol Yoga speaks (one subscription per request,
 * `Accept: text/event-stream`): POST the operation, read `event: next` frames, stop at
 * `event: complete`. Works with any fetch — `layer.edge.fetch` (no socket) or the global one.
 */
export interface SseFrame {
  event: 'next' | 'complete';
  data?: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

export interface Subscription {
  status: number;
  headers: Headers;
  /** The next `next` frame's payload; rejects after `timeoutMs`, or when the stream completes first. */
  next(timeoutMs?: number): Promise<NonNullable<SseFrame['data']>>;
  /** Resolves true once the server completed the stream (`event: complete`). */
  completed: Promise<boolean>;
  /** Leaves (the client goes away). */
  close(): Promise<void>;
}

type FetchLike = (url: string, init: RequestInit) => Promise<Response> | Response;

export async function subscribe(
  fetchFn: FetchLike,
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Subscription> {
  const controller = new AbortController();
  const response = await fetchFn(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const frames: SseFrame[] = [];
  const waiters: (() => void)[] = [];
  let ended = false;
  let markCompleted: (value: boolean) => void = () => undefined;
  const completed = new Promise<boolean>((resolve) => (markCompleted = resolve));
  const wake = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };

  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    if (!reader) return;
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n').filter((line) => !line.startsWith(':'));
          const event = lines
            .find((l) => l.startsWith('event:'))
            ?.slice(6)
            .trim();
          const data = lines
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (event === 'next') frames.push({ event, data: JSON.parse(data) as SseFrame['data'] });
          if (event === 'complete') {
            frames.push({ event });
            markCompleted(true);
          }
          wake();
        }
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true;
      markCompleted(false);
      wake();
    }
  })();

  let read = 0;
  return {
    status: response.status,
    headers: response.headers,
    completed,
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const frame = frames[read];
        if (frame) {
          read++;
          if (frame.event === 'complete') throw new Error('the subscription completed');
          return frame.data ?? {};
        }
        if (ended) throw new Error('the subscription stream ended');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async close() {
      // Without a socket (edge.fetch) the abort signal does not reach the body: cancel it too.
      controller.abort();
      await reader?.cancel().catch(() => undefined);
      await completed;
    },
  };
}

/** A telli webhook as Svix delivers it: signed with `secret`, at `timestamp` (now by default). */
export function signedWebhook(
  secret: string,
  payload: unknown,
  options: { id?: string; timestamp?: Date; body?: string } = {},
): { body: string; headers: Record<string, string>; id: string } {
  const id = options.id ?? `msg_test_${Math.random().toString(36).slice(2)}`;
  const timestamp = options.timestamp ?? new Date();
  const body = options.body ?? JSON.stringify(payload);
  return {
    id,
    body,
    headers: {
      'content-type': 'application/json',
      'svix-id': id,
      'svix-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'svix-signature': new Webhook(secret).sign(id, timestamp, body),
    },
  };
}

/**
 * Delivers a signed `contact_status_changed` webhook to the layer at `layerUrl`, as telli would,
 * and returns the route's answer (status and body text).
 */
export async function deliverStatusChanged(
  layerUrl: string,
  secret: string,
  contactId: string,
  status = 'new',
): Promise<{ status: number; text: string }> {
  const webhook = signedWebhook(secret, { event: 'contact_status_changed', contact_id: contactId, status });
  const res = await fetch(`${layerUrl}/webhooks/telli`, {
    method: 'POST',
    headers: webhook.headers,
    body: webhook.body,
  });
  return { status: res.status, text: await res.text() };
}

/** A fresh Svix-style endpoint secret for tests. */
export function testSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64')}`;
}
