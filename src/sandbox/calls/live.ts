import { createRandom, seedFrom } from '../random.js';
import type { SandboxContact } from '../contacts/model.js';
import {
  analysisFor,
  iso,
  joinTranscript,
  minutes,
  outcomeFor,
  SCRIPTS,
  type SandboxCall,
  type Status,
} from './model.js';

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
