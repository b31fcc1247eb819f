import type { JsonObject, JsonValue } from '../json.js';
import type { Random } from '../random.js';
import { MINUTE } from '../time.js';

/**
 * What a call is as telli serves it, and what it says: the agent's scripts, and the analysis and
 * outcome telli attaches once it has ended. Seeded calls (`demo.ts`) and the live dialer's calls
 * (`live.ts`) are both made from these, so clients see one vocabulary.
 */

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

/** The statuses the sandbox gives calls: telli's documented set, plus `IN_PROGRESS` and `BUSY`. */
export type Status = 'COMPLETED' | 'ANSWERED' | 'NOT_REACHED' | 'VOICEMAIL' | 'ERROR' | 'BUSY' | 'IN_PROGRESS';

export const SCRIPTS: Record<string, ((name: string) => TranscriptTurn[])[]> = {
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

export const CALLBACK_SCRIPTS: Record<string, (name: string) => TranscriptTurn[]> = {
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

export const VOICEMAIL_SCRIPTS: Record<string, (name: string) => TranscriptTurn[]> = {
  en: (name) => [{ role: 'agent', content: `Hi ${name}, Mia from Sunfield Energy here. I will try you again soon.` }],
  de: (name) => [
    { role: 'agent', content: `Hallo ${name}, hier ist Mia von Sonnenfeld Energie. Ich versuche es bald wieder.` },
  ],
};

export const joinTranscript = (turns: readonly TranscriptTurn[]) =>
  turns.map((t) => `${t.role}: ${t.content}`).join('\n');
export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
export const minutes = (ms: number) => Math.round(ms / (MINUTE / 100)) / 100;

export function analysisFor(status: Status, r: Random, booked: string | null): SandboxCall['call_analysis'] {
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

export function outcomeFor(status: Status, interested: boolean): SandboxCall['call_outcome'] {
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
