import { randomUUID } from 'node:crypto';
import { put, type Account, type DialerEntry } from '../account.js';
import type { SandboxAgent } from '../agents/demo.js';
import {
  contactAt,
  isObject,
  json,
  UUID,
  v1Error,
  type Route,
  type RouteContext,
  type SandboxResponse,
} from '../wire.js';
import type { LiveDialer } from './live.js';

/**
 * telli's auto-dialer endpoints: schedule-call(s) queue a contact, remove-from-auto-dialer(-batch)
 * take it out (§2.10, §7, §12). With a live dialer, a queued call is then placed (`live.ts`).
 */

/** `POST /v1/schedule-calls-batch` and `POST /v1/remove-from-auto-dialer-batch` (§10). */
export const DIALER_BATCH_LIMIT = 50;
/** How far ahead `schedule-call` puts `next_call_at` without a live dialer. */
export const SCHEDULE_DELAY_MS = 60_000;

export type Scheduled = { loopId: string } | { error: string };

export interface DialerRoutes {
  routes: Route[];
  /** Queues one schedule-call item; `agentRequired` as in the batch, which has no default agent. */
  schedule(account: Account, item: unknown, agentRequired: boolean): Scheduled;
}

export function createDialerRoutes(live: LiveDialer): DialerRoutes {
  /**
   * Queues one contact. Scheduling a queued contact again replaces its entry (new loop id); the
   * docs say nothing about it, and a retried request should not fail. `next_call_at` moves, but
   * `updatedAt` does not: call state is not part of the v2 contact.
   */
  function schedule(account: Account, item: unknown, agentRequired: boolean): Scheduled {
    if (!isObject(item)) return { error: 'Body must be a JSON object' };
    const contactId = item['contact_id'];
    if (typeof contactId !== 'string' || !UUID.test(contactId)) return { error: 'Invalid contact_id' };
    const contact = contactAt(account, contactId);
    if (!contact) return { error: 'Contact not found' };
    const agentId = item['agent_id'];
    if (agentId === undefined || agentId === null) {
      if (agentRequired) return { error: 'agent_id is required' };
    } else if (typeof agentId !== 'string') return { error: 'Invalid agent_id' };
    else if (!account.agentById.has(agentId.toLowerCase())) return { error: 'Agent not found' };
    const maxRetryDays = item['max_retry_days'];
    if (maxRetryDays != null && (typeof maxRetryDays !== 'number' || !(maxRetryDays > 0)))
      return { error: 'max_retry_days must be a positive number' };
    const fromNumber = item['override_from_number'];
    if (fromNumber != null && (typeof fromNumber !== 'string' || !/^\+[1-9]\d{1,14}$/.test(fromNumber)))
      return { error: 'override_from_number must be an E.164 number' };
    const now = Date.now();
    const entry: DialerEntry = {
      loopId: randomUUID(),
      agentId: typeof agentId === 'string' ? agentId : (account.agents[0] as SandboxAgent).id,
      maxRetryDays: typeof maxRetryDays === 'number' ? maxRetryDays : null,
      overrideFromNumber: typeof fromNumber === 'string' ? fromNumber : null,
      scheduledAt: new Date(now).toISOString(),
    };
    const delay = live.callMs ?? SCHEDULE_DELAY_MS;
    put(account, contact, { ...contact, nextCallAt: new Date(now + delay).toISOString() });
    account.dialer.set(contact.id.toLowerCase(), entry);
    live.dialIn(delay, account, contact.id, entry.loopId);
    return { loopId: entry.loopId };
  }

  function scheduleCall({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const result = schedule(account, body.json, false);
    if ('error' in result) return v1Error(400, result.error);
    const { contact_id } = body.json as { contact_id: string };
    return json(200, { status: 'success', contact_id, loop_id: result.loopId });
  }

  function scheduleCallsBatch({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const contacts = isObject(body.json) ? body.json['contacts'] : undefined;
    if (!Array.isArray(contacts)) return v1Error(400, 'contacts must be an array');
    if (contacts.length > DIALER_BATCH_LIMIT)
      return v1Error(400, `contacts must contain at most ${DIALER_BATCH_LIMIT} items`);
    const result = contacts.map((item: unknown) => {
      const contactId = isObject(item) ? (item['contact_id'] ?? null) : null;
      const outcome = schedule(account, item, true);
      return 'error' in outcome
        ? { contact_id: contactId, status: 'error', error_message: outcome.error, error_code: 400 }
        : { contact_id: contactId, status: 'success', loop_id: outcome.loopId };
    });
    return json(200, result.reverse());
  }

  /** Takes a contact out of the dialer; "queued" means `next_call_at` is set (seeded or scheduled). */
  function unqueue(account: Account, contactId: unknown): { error?: string } {
    if (typeof contactId !== 'string' || !UUID.test(contactId)) return { error: 'Invalid contact_id' };
    const contact = contactAt(account, contactId);
    if (!contact) return { error: 'Contact not found' };
    if (contact.nextCallAt === null) return { error: 'Contact is not in the auto dialer' };
    put(account, contact, { ...contact, nextCallAt: null });
    account.dialer.delete(contact.id.toLowerCase());
    return {};
  }

  function removeFromDialer({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const contactId = isObject(body.json) ? body.json['contact_id'] : undefined;
    const { error } = unqueue(account, contactId);
    return error ? v1Error(400, error) : json(200, { status: 'success', contact_id: contactId });
  }

  function removeFromDialerBatch({ account, body }: RouteContext): SandboxResponse {
    if (!('json' in body)) return v1Error(400, 'Body must be JSON');
    const ids = isObject(body.json) ? body.json['contact_ids'] : undefined;
    if (!Array.isArray(ids)) return v1Error(400, 'contact_ids must be an array');
    if (ids.length > DIALER_BATCH_LIMIT)
      return v1Error(400, `contact_ids must contain at most ${DIALER_BATCH_LIMIT} items`);
    const result = ids.map((id: unknown) => {
      const { error } = unqueue(account, id);
      return error ? { contact_id: id, status: 'error', error } : { contact_id: id, status: 'success' };
    });
    return json(200, result.reverse());
  }

  return {
    schedule,
    routes: [
      { method: 'POST', segments: ['v1', 'schedule-call'], name: 'POST /v1/schedule-call', run: scheduleCall },
      {
        method: 'POST',
        segments: ['v1', 'schedule-calls-batch'],
        name: 'POST /v1/schedule-calls-batch',
        run: scheduleCallsBatch,
      },
      {
        method: 'POST',
        segments: ['v1', 'remove-from-auto-dialer'],
        name: 'POST /v1/remove-from-auto-dialer',
        run: removeFromDialer,
      },
      {
        method: 'POST',
        segments: ['v1', 'remove-from-auto-dialer-batch'],
        name: 'POST /v1/remove-from-auto-dialer-batch',
        run: removeFromDialerBatch,
      },
    ],
  };
}
