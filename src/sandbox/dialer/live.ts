import { randomUUID } from 'node:crypto';
import { addCall, callsOf, put, replaceCall, type Account } from '../account.js';
import { ongoingCallEnd } from '../calls/demo.js';
import { createLiveCall, endLiveCall, type LiveCallOutcome } from '../calls/live.js';
import type { SandboxContact } from '../contacts/model.js';
import type { Overrides } from '../overrides.js';

/** The webhooks telli sends (telli-api.md §9). */
export type SandboxWebhookType = 'contact_status_changed' | 'call_ended';

/**
 * The live dialer, as telli's works: a scheduled contact is called `callMs` after it was
 * scheduled (`next_call_at`), which puts it in progress, and the call ends `callMs` later,
 * reached or not. Each change is a webhook.
 */
export interface DialerOptions {
  /** A call starts this long after it is scheduled, and ends this long after it started. */
  callMs: number;
  /** Called with every webhook the dialer's telli account would send. */
  emit(type: SandboxWebhookType, payload: Record<string, unknown>): void;
  /** Whether a call reaches the contact; when omitted, every other call does (the first one does). */
  outcome?(contactId: string, attempt: number): LiveCallOutcome;
}

/** What the dialer endpoints ask of the live dialer; without one, nothing is ever dialled. */
export interface LiveDialer {
  /** How long after scheduling a call is placed; undefined without a live dialer. */
  readonly callMs: number | undefined;
  /** Places the queued call `loopId` of the contact `ms` from now (nothing without a live dialer). */
  dialIn(ms: number, account: Account, contactId: string, loopId: string): void;
  /** Ends the account's seeded calls in progress when their time is up, as their agents would. */
  watch(account: Account): void;
  /** No call starts or ends after this. */
  stop(): void;
}

export function createLiveDialer(options: DialerOptions | undefined, overrides: Overrides): LiveDialer {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let dials = 0;

  function later(ms: number, fn: () => void) {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) fn();
    }, ms);
    timer.unref();
    timers.add(timer);
  }

  const emit = (type: SandboxWebhookType, payload: Record<string, unknown>) => options?.emit(type, payload);

  /** The dialer reaches `next_call_at`: the contact is called (unless it left the queue meanwhile). */
  function dial(account: Account, id: string, loopId: string) {
    const entry = account.dialer.get(id);
    const contact = account.byId.get(id);
    if (!options || !entry || entry.loopId !== loopId || !contact) return;
    // Already on the phone (a seeded call in progress, or a call placed meanwhile): try later.
    if (contact.inCallSince !== null) {
      later(options.callMs, () => dial(account, id, loopId));
      return;
    }
    account.dialer.delete(id);
    const now = Date.now();
    const attempt = contact.callAttempts + 1;
    const call = createLiveCall(contact, {
      agentId: entry.agentId,
      fromNumber: entry.overrideFromNumber ?? (account.fromNumbers[0] as string),
      attempt,
      callId: randomUUID(),
      now,
    });
    const next: SandboxContact = {
      ...contact,
      inCallSince: new Date(now).toISOString(),
      nextCallAt: null,
      callAttempts: attempt,
    };
    put(account, contact, next);
    addCall(account, call);
    emit('contact_status_changed', statusChanged(next, 'pending', now));
    const outcome = options.outcome?.(id, attempt) ?? (dials++ % 2 === 0 ? 'reached' : 'not_reached');
    later(options.callMs, () => hangUp(account, id, call.call_id, outcome));
  }

  /** The call ends; `reached_at` is the call's end, as for seeded calls. */
  function hangUp(account: Account, id: string, callId: string, outcome: LiveCallOutcome) {
    const contact = account.byId.get(id);
    const call = account.callById.get(callId.toLowerCase());
    if (!contact || !call) return;
    const now = Date.now();
    const agent = account.agentById.get(call.agent_id.toLowerCase());
    const ended = endLiveCall(call, contact, outcome, { language: agent?.language ?? 'en', now });
    replaceCall(account, ended);
    const next: SandboxContact = {
      ...contact,
      inCallSince: null,
      reachedAt: outcome === 'reached' ? new Date(now).toISOString() : contact.reachedAt,
    };
    put(account, contact, next);
    emit('contact_status_changed', statusChanged(next, outcome === 'reached' ? 'reached' : 'pending', now));
    emit('call_ended', { event: 'call_ended', call: overrides.callOut(ended), contact: overrides.v1Full(next) });
  }

  /** A seeded call in progress ends (unless the contact is gone, or that call already ended). */
  function endSeeded(account: Account, seeded: SandboxContact, outcome: LiveCallOutcome) {
    const id = seeded.id.toLowerCase();
    const contact = account.byId.get(id);
    if (!contact || contact.inCallSince === null || contact.inCallSince !== seeded.inCallSince) return;
    const started = Date.parse(contact.inCallSince);
    const call = callsOf(account, contact).find((c) => c.call_status === 'IN_PROGRESS' && c.started_at === started);
    if (call) hangUp(account, id, call.call_id, outcome);
  }

  /**
   * telli documents no body for this event; the sandbox sends the contact in v1 shape and
   * telli's status word of that vocabulary (`pending` while being worked on, `reached`).
   */
  function statusChanged(contact: SandboxContact, status: string, now: number): Record<string, unknown> {
    return {
      event: 'contact_status_changed',
      contact_id: contact.id,
      status,
      timestamp: new Date(now).toISOString(),
      contact: overrides.v1Full(contact),
    };
  }

  return {
    callMs: options?.callMs,
    dialIn(ms, account, contactId, loopId) {
      if (options) later(ms, () => dial(account, contactId.toLowerCase(), loopId));
    },
    watch(account) {
      if (!options) return;
      const now = Date.now();
      for (const contact of account.byId.values()) {
        const end = ongoingCallEnd(contact);
        if (end) {
          const outcome = end.reached ? 'reached' : 'not_reached';
          later(Math.max(0, end.at - now), () => endSeeded(account, contact, outcome));
        }
      }
    },
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
