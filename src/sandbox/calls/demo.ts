import type { SandboxContact } from '../contacts/model.js';
import type { SandboxAgent } from '../agents/demo.js';
import { createRandom, seedFrom } from '../random.js';
import { DAY, HOUR, MINUTE, SECOND } from '../time.js';
import {
  analysisFor,
  CALLBACK_SCRIPTS,
  iso,
  joinTranscript,
  minutes,
  outcomeFor,
  SCRIPTS,
  VOICEMAIL_SCRIPTS,
  type SandboxCall,
  type Status,
  type TranscriptTurn,
} from './model.js';

/**
 * Deterministic demo calls. They are derived from a contact's call state
 * (`callAttempts`, `reachedAt`, `inCallSince`) so v1 contact fields and `list-calls` tell the same
 * story, and they are generated per contact on demand: the bench seeds 20 000 contacts and must not
 * pay for transcripts nobody reads.
 */

/**
 * A contact whose oldest call breaks the documented vocabulary, so clients prove their enums are
 * open: `unknown-status` answers `call_status: "BUSY"`, `unknown-direction` a `direction` of `"web"`.
 */
export type CallQuirk = 'unknown-status' | 'unknown-direction';

/** What a contact's calls depend on besides the contact: its account's agents and numbers, and the time. */
export interface CallSeedContext {
  agents: readonly SandboxAgent[];
  fromNumbers: readonly string[];
  quirk?: CallQuirk;
  /** The account's seed time (epoch ms): calls of a contact with no dated call end before it. */
  now: number;
}

/**
 * Which contacts carry a `CallQuirk`: the first two with a free (non-final) call get the unknown
 * status, the next one the unknown direction. Only ids are chosen here; no call is generated.
 */
export function pickCallQuirks(contacts: readonly SandboxContact[]): Map<string, CallQuirk> {
  const quirks = new Map<string, CallQuirk>();
  const order: CallQuirk[] = ['unknown-status', 'unknown-status', 'unknown-direction'];
  for (const c of contacts) {
    if (quirks.size === order.length) break;
    if (freeCallCount(c) > 0) quirks.set(c.id.toLowerCase(), order[quirks.size] as CallQuirk);
  }
  return quirks;
}

/** Calls that are neither the completed call at `reachedAt` nor the ongoing one. */
function freeCallCount(c: SandboxContact): number {
  return c.callAttempts - (c.reachedAt ? 1 : 0) - (c.inCallSince ? 1 : 0);
}

/**
 * The contact's calls, newest first. Their number equals `callAttempts`; a reached contact's
 * newest finished call is `COMPLETED` and ends at `reachedAt`; a contact in a call has an
 * `IN_PROGRESS` newest call that started at `inCallSince` and has no end. The other calls come
 * before those, after `createdAt` where the seed allows it.
 */
export function createDemoCalls(contact: SandboxContact, context: CallSeedContext): SandboxCall[] {
  const attempts = contact.callAttempts;
  if (attempts <= 0 || context.agents.length === 0) return [];
  const r = createRandom(seedFrom(`calls:${contact.id}`));
  const agent = r.pick(context.agents);
  const fromNumber = r.pick(context.fromNumbers);
  const language = agent.language in SCRIPTS ? agent.language : 'en';
  const name = contact.firstName;
  const completedEnd = contact.reachedAt ? Date.parse(contact.reachedAt) : null;
  const ongoingStart = contact.inCallSince ? Date.parse(contact.inCallSince) : null;
  const free = freeCallCount(contact);

  // The free calls sit in a window that ends an hour before the first anchored call (or before
  // the seed time when there is none) and opens at creation, but spans no less than 3 hours and
  // no more than 2 days per call: a contact a test hands in may be reached before it was created,
  // and a contact created years ago was not called once every few years.
  const firstAnchor = completedEnd !== null ? completedEnd - 10 * MINUTE : ongoingStart;
  const windowEnd = (firstAnchor ?? context.now - HOUR) - HOUR;
  const span = Math.min(Math.max(windowEnd - Date.parse(contact.createdAt), free * 3 * HOUR), free * 2 * DAY);
  const windowStart = windowEnd - span;
  const slot = free > 0 ? (windowEnd - windowStart) / free : 0;

  const calls: SandboxCall[] = [];
  const push = (status: Status, triggered: number, started: number | null, ended: number | null, direction: string) => {
    const callId = r.uuid();
    const inbound = direction === 'inbound';
    const script =
      status === 'COMPLETED'
        ? r.pick(SCRIPTS[language] ?? [])(name)
        : status === 'ANSWERED'
          ? (CALLBACK_SCRIPTS[language] as (n: string) => TranscriptTurn[])(name)
          : status === 'VOICEMAIL'
            ? (VOICEMAIL_SCRIPTS[language] as (n: string) => TranscriptTurn[])(name)
            : [];
    const booked =
      status === 'COMPLETED' && r.next() < 0.4
        ? new Date(Math.floor((ended ?? triggered) / DAY) * DAY + (2 + r.int(12)) * DAY + 10 * HOUR).toISOString()
        : null;
    const finished = status !== 'IN_PROGRESS';
    const endedReason: Record<Status, string | null> = {
      COMPLETED: r.pick(['agent-ended-call', 'customer-ended-call']),
      ANSWERED: 'customer-ended-call',
      VOICEMAIL: 'voicemail',
      NOT_REACHED: 'no-answer',
      BUSY: 'customer-busy',
      ERROR: 'call-failed',
      IN_PROGRESS: null,
    };
    calls.push({
      call_id: callId,
      attempt: calls.length + 1,
      from_number: inbound ? contact.phoneNumber : fromNumber,
      to_number: inbound ? fromNumber : contact.phoneNumber,
      direction,
      contact_id: contact.id,
      agent_id: agent.id,
      triggered_at: triggered,
      triggered_at_iso: iso(triggered) as string,
      started_at: started,
      started_at_iso: iso(started),
      ended_at: ended,
      ended_at_iso: iso(ended),
      call_length_min: !finished ? null : started !== null && ended !== null ? minutes(ended - started) : 0,
      call_status: status,
      transcript: joinTranscript(script),
      transcriptObject: script,
      call_analysis: finished ? analysisFor(status, r, booked) : null,
      call_outcome: finished ? outcomeFor(status, r.next() < 0.6) : null,
      collected_data: !finished
        ? null
        : status === 'COMPLETED'
          ? { preferred_contact_time: r.pick(['mornings', 'evenings', 'weekends']), household_size: 1 + r.int(5) }
          : status === 'ANSWERED'
            ? { callback_requested: true }
            : {},
      booked_slot_for: booked,
      recording_url: finished && started !== null ? `https://recordings.example.com/sandbox/${callId}.mp3` : null,
      ended_reason: endedReason[status],
    });
  };

  for (let i = 0; i < free; i++) {
    const quirk = i === 0 ? context.quirk : undefined;
    const roll = r.next();
    const status: Status =
      quirk === 'unknown-status'
        ? 'BUSY'
        : roll < 0.45
          ? 'NOT_REACHED'
          : roll < 0.75
            ? 'VOICEMAIL'
            : roll < 0.92
              ? 'ANSWERED'
              : 'ERROR';
    const triggered = Math.round(windowStart + i * slot + r.next() * slot * 0.3);
    const ring = (5 + r.int(25)) * SECOND;
    const picksUp = status === 'ANSWERED' || status === 'VOICEMAIL';
    const started = picksUp ? triggered + ring : null;
    const ended =
      status === 'ERROR' || status === 'BUSY'
        ? triggered + (1 + r.int(3)) * SECOND
        : started !== null
          ? started + (20 + r.int(100)) * SECOND
          : triggered + ring + 30 * SECOND;
    push(status, triggered, started, ended, quirk === 'unknown-direction' ? 'web' : 'outbound');
  }
  if (completedEnd !== null) {
    const length = (90 + r.int(330)) * SECOND;
    const started = completedEnd - length;
    const triggered = started - (5 + r.int(20)) * SECOND;
    push('COMPLETED', triggered, started, completedEnd, r.next() < 0.15 ? 'inbound' : 'outbound');
  }
  if (ongoingStart !== null) {
    // Triggered a few seconds before it was picked up, but never before the call it follows ended.
    const triggered = Math.max(ongoingStart - (5 + r.int(20)) * SECOND, completedEnd ?? Number.NEGATIVE_INFINITY);
    push('IN_PROGRESS', triggered, ongoingStart, null, 'outbound');
  }
  return calls.reverse();
}

/**
 * When a seeded call in progress ends, and whether it reaches the contact: 3.5 to 8 minutes
 * after it started, as the calls the agent finished before it; most reach their contact. The
 * live dialer hangs seeded calls up then (without one, nothing in the sandbox moves).
 */
export function ongoingCallEnd(contact: SandboxContact): { at: number; reached: boolean } | undefined {
  if (contact.inCallSince === null) return undefined;
  const r = createRandom(seedFrom(`ongoing:${contact.id}`));
  return { at: Date.parse(contact.inCallSince) + (210 + r.int(270)) * SECOND, reached: r.next() < 0.6 };
}
