import type { JsonObject, JsonValue } from '../json.js';
import type { SandboxContact } from '../contacts/demo.js';
import { createRandom, seedFrom, type Random } from '../random.js';

/**
 * Deterministic agents and calls for the sandbox. Calls are derived from a contact's call state
 * (`callAttempts`, `reachedAt`, `inCallSince`) so v1 contact fields and `list-calls` tell the same
 * story, and they are generated per contact on demand: the bench seeds 20 000 contacts and must not
 * pay for transcripts nobody reads.
 */

/** An agent as `GET /v2/agents` returns it (§12: the fields integrations read). */
export interface SandboxAgent {
  id: string;
  title: string;
  language: string;
  createdAt: string;
}

export interface TranscriptTurn {
  role: 'agent' | 'user';
  content: string;
}

/** A call exactly as `list-calls` / `get-call` serve it (§7, §12): snake_case, except `transcriptObject`. */
export interface SandboxCall {
  call_id: string;
  attempt: number;
  from_number: string;
  to_number: string;
  /** `outbound` / `inbound`, and deliberately one value outside that pair (see `CallQuirk`). */
  direction: string;
  contact_id: string;
  agent_id: string;
  /** Epoch milliseconds (13 digits), beside the ISO string. */
  triggered_at: number;
  triggered_at_iso: string;
  /** Null when nobody picked up (NOT_REACHED, BUSY, ERROR). */
  started_at: number | null;
  started_at_iso: string | null;
  /** Null while the call is in progress. */
  ended_at: number | null;
  ended_at_iso: string | null;
  call_length_min: number | null;
  /** The documented set (COMPLETED, ANSWERED, NOT_REACHED, VOICEMAIL, ERROR) plus `IN_PROGRESS` and `BUSY`. */
  call_status: string;
  transcript: string;
  transcriptObject: TranscriptTurn[];
  /** System analysis; null until a call has ended. */
  call_analysis: Record<string, { value: boolean; details: string | number }> | null;
  /** User-configured outcome fields; null until a call has ended. */
  call_outcome: Record<string, { value: JsonValue; fieldSchema: JsonObject }> | null;
  collected_data: JsonObject | null;
  booked_slot_for: string | null;
  recording_url: string | null;
  ended_reason: string | null;
}

/**
 * A contact whose oldest call breaks the documented vocabulary, so clients prove their enums are
 * open: `unknown-status` answers `call_status: "BUSY"`, `unknown-direction` a `direction` of `"web"`.
 */
export type CallQuirk = 'unknown-status' | 'unknown-direction';

/** What a contact's calls depend on besides the contact: its account's agents and numbers. */
export interface CallSeedContext {
  agents: readonly SandboxAgent[];
  fromNumbers: readonly string[];
  quirk?: CallQuirk;
}

const EPOCH = Date.UTC(2026, 0, 1);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const AGENT_BLUEPRINTS = [
  { title: 'Solar outreach', language: 'de' },
  { title: 'Appointment setter', language: 'en' },
  { title: 'Heat pump reactivation — Zoë', language: 'de' },
  { title: 'Inbound reception', language: 'en' },
] as const;

/** An account's seed, from its first contacts' ids: the same contacts give the same agents. */
export function accountSeedOf(contacts: readonly SandboxContact[]): number {
  return seedFrom(
    contacts
      .slice(0, 8)
      .map((c) => c.id)
      .join(','),
  );
}

/** Three or four agents, the same for the same seed. */
export function createDemoAgents(seed: number): SandboxAgent[] {
  const r = createRandom(seed ^ 0x5a9e7);
  const count = 3 + r.int(2);
  return AGENT_BLUEPRINTS.slice(0, count).map((blueprint, i) => ({
    id: r.uuid(),
    ...blueprint,
    createdAt: new Date(EPOCH - (120 - i * 25) * DAY + r.int(DAY)).toISOString(),
  }));
}

/** The account's outbound numbers (E.164), the `from_number` of its outbound calls. */
export function createDemoFromNumbers(seed: number): string[] {
  const r = createRandom(seed ^ 0x7e1e);
  return [`+4930${2000000 + r.int(7_999_999)}`, `+4989${2000000 + r.int(7_999_999)}`];
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

type Status = 'COMPLETED' | 'ANSWERED' | 'NOT_REACHED' | 'VOICEMAIL' | 'ERROR' | 'BUSY' | 'IN_PROGRESS';

const SCRIPTS: Record<string, ((name: string) => TranscriptTurn[])[]> = {
  en: [
    (name) => [
      { role: 'agent', content: `Hi ${name}, this is Mia calling on behalf of Sunfield Energy. Is now a good time?` },
      { role: 'user', content: 'Yes, I have a few minutes. What is it about?' },
      { role: 'agent', content: 'You asked about rooftop solar. May I ask how large your roof is, roughly?' },
      { role: 'user', content: 'About 60 square metres, facing south.' },
      { role: 'agent', content: 'That is a great fit. Shall I book a free consultation with one of our engineers?' },
      { role: 'user', content: 'Sure, next week works for me.' },
    ],
    (name) => [
      { role: 'agent', content: `Good afternoon ${name}, I'm calling about your heat pump enquiry.` },
      { role: 'user', content: "Oh right — I'm still comparing offers, to be honest." },
      { role: 'agent', content: 'Understood. Would it help if we sent you a written quote first?' },
      { role: 'user', content: 'Yes, by email please. "Quote" in the subject, so I find it.' },
      { role: 'agent', content: 'Done. Thank you, and have a nice day!' },
    ],
  ],
  de: [
    (name) => [
      { role: 'agent', content: `Guten Tag ${name}, hier ist Mia von Sonnenfeld Energie. Passt es gerade?` },
      { role: 'user', content: 'Ja, kurz. Worum geht es?' },
      { role: 'agent', content: 'Sie hatten sich für eine Wärmepumpe interessiert. Wie groß ist Ihr Haus ungefähr?' },
      { role: 'user', content: 'Etwa 140 Quadratmeter, Baujahr 1998.' },
      {
        role: 'agent',
        content: 'Dann vereinbare ich gern einen Termin für eine Vor-Ort-Beratung. Wäre Dienstag okay?',
      },
      { role: 'user', content: 'Dienstag passt, gerne vormittags.' },
      { role: 'agent', content: 'Perfekt, ich habe es eingetragen. Vielen Dank und einen schönen Tag!' },
    ],
  ],
};

const CALLBACK_SCRIPTS: Record<string, (name: string) => TranscriptTurn[]> = {
  en: (name) => [
    { role: 'agent', content: `Hi ${name}, this is Mia from Sunfield Energy.` },
    { role: 'user', content: "Sorry, I'm driving. Can you call me back later?" },
    { role: 'agent', content: 'Of course, I will try again later. Drive safely!' },
  ],
  de: (name) => [
    { role: 'agent', content: `Hallo ${name}, hier ist Mia von Sonnenfeld Energie.` },
    { role: 'user', content: 'Ich bin gerade unterwegs, können Sie später anrufen?' },
    { role: 'agent', content: 'Natürlich, ich melde mich später noch einmal. Gute Fahrt!' },
  ],
};

const VOICEMAIL_SCRIPTS: Record<string, (name: string) => TranscriptTurn[]> = {
  en: (name) => [{ role: 'agent', content: `Hi ${name}, Mia from Sunfield Energy here. I will try you again soon.` }],
  de: (name) => [
    { role: 'agent', content: `Hallo ${name}, hier ist Mia von Sonnenfeld Energie. Ich versuche es bald wieder.` },
  ],
};

const joinTranscript = (turns: readonly TranscriptTurn[]) => turns.map((t) => `${t.role}: ${t.content}`).join('\n');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const minutes = (ms: number) => Math.round(ms / (MINUTE / 100)) / 100;

function analysisFor(status: Status, r: Random, booked: string | null): SandboxCall['call_analysis'] {
  const reached = status === 'COMPLETED' || status === 'ANSWERED';
  const reason: Record<Status, string> = {
    COMPLETED: 'The customer talked to the agent until the end.',
    ANSWERED: 'The customer asked to be called back.',
    VOICEMAIL: 'A voicemail greeting answered.',
    NOT_REACHED: 'Nobody picked up.',
    BUSY: 'The line was busy.',
    ERROR: 'The call could not be placed.',
    IN_PROGRESS: '',
  };
  return {
    customer_reached: { value: reached, details: reason[status] },
    voicemail_detected: { value: status === 'VOICEMAIL', details: status === 'VOICEMAIL' ? 5 + r.int(20) : 0 },
    appointment_booked: { value: booked !== null, details: booked ?? 'No appointment booked' },
  };
}

function outcomeFor(status: Status, interested: boolean): SandboxCall['call_outcome'] {
  if (status !== 'COMPLETED') return {};
  return {
    interested: {
      value: interested,
      fieldSchema: { type: 'boolean', description: 'Is the customer interested in an offer?' },
    },
    next_step: {
      value: interested ? 'site_visit' : 'send_quote',
      fieldSchema: {
        type: 'enum',
        options: ['site_visit', 'send_quote', 'do_not_call'],
        description: 'What happens next',
      },
    },
  };
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
  // the seed's "now" when there is none) and opens at creation, but spans no less than 3 hours
  // and no more than 2 days per call: seeded `reachedAt` can precede `createdAt`, and a contact
  // created years ago was not called once every few years.
  const firstAnchor = completedEnd !== null ? completedEnd - 10 * MINUTE : ongoingStart;
  const windowEnd = (firstAnchor ?? EPOCH - HOUR) - HOUR;
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

/** What became of a call the live dialer placed. */
export type LiveCallOutcome = 'reached' | 'not_reached';

/**
 * A call the live dialer has just placed: `IN_PROGRESS`, the contact's next attempt, started now
 * (the sandbox's callee picks up at once; whether anyone talks is decided when it ends).
 */
export function createLiveCall(
  contact: SandboxContact,
  context: { agentId: string; fromNumber: string; attempt: number; callId: string; now: number },
): SandboxCall {
  const { now } = context;
  return {
    call_id: context.callId,
    attempt: context.attempt,
    from_number: context.fromNumber,
    to_number: contact.phoneNumber,
    direction: 'outbound',
    contact_id: contact.id,
    agent_id: context.agentId,
    triggered_at: now,
    triggered_at_iso: iso(now) as string,
    started_at: now,
    started_at_iso: iso(now),
    ended_at: null,
    ended_at_iso: null,
    call_length_min: null,
    call_status: 'IN_PROGRESS',
    transcript: '',
    transcriptObject: [],
    call_analysis: null,
    call_outcome: null,
    collected_data: null,
    booked_slot_for: null,
    recording_url: null,
    ended_reason: null,
  };
}

/**
 * The same call, ended now: `COMPLETED` with a conversation when the contact was reached,
 * `NOT_REACHED` (nobody picked up: no start, no transcript) otherwise — the shapes seeded calls
 * have, so clients see one vocabulary.
 */
export function endLiveCall(
  call: SandboxCall,
  contact: SandboxContact,
  outcome: LiveCallOutcome,
  context: { language: string; now: number },
): SandboxCall {
  const { now } = context;
  const r = createRandom(seedFrom(`live:${call.call_id}`));
  const reached = outcome === 'reached';
  const status: Status = reached ? 'COMPLETED' : 'NOT_REACHED';
  const scripts = SCRIPTS[context.language] ?? SCRIPTS['en'] ?? [];
  const script = reached ? r.pick(scripts)(contact.firstName) : [];
  const started = reached ? call.started_at : null;
  return {
    ...call,
    started_at: started,
    started_at_iso: iso(started),
    ended_at: now,
    ended_at_iso: iso(now),
    call_length_min: started !== null ? minutes(now - started) : 0,
    call_status: status,
    transcript: joinTranscript(script),
    transcriptObject: script,
    call_analysis: analysisFor(status, r, null),
    call_outcome: outcomeFor(status, r.next() < 0.6),
    collected_data: reached ? { preferred_contact_time: r.pick(['mornings', 'evenings', 'weekends']) } : {},
    recording_url: reached ? `https://recordings.example.com/sandbox/${call.call_id}.mp3` : null,
    ended_reason: reached ? 'agent-ended-call' : 'no-answer',
  };
}
