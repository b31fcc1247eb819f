import { createDemoAgents, type SandboxAgent } from './agents/demo.js';
import { createDemoCalls, pickCallQuirks, type CallQuirk } from './calls/demo.js';
import type { SandboxCall } from './calls/model.js';
import type { SandboxContact } from './contacts/model.js';
import { createRandom, seedFrom } from './random.js';
import { seedTime } from './time.js';

/**
 * One telli account: its contacts indexed the ways telli looks them up, its agents, the calls
 * generated so far, and its dialer queue. Contacts are replaced, never mutated, so objects a test
 * handed in (and may share between tenants) never change under it. Every route works on one
 * account; the functions here keep its indexes in step.
 */
export interface Account {
  /** Lower-case ids in list order. A deleted id keeps its place (skipped), so list cursors stay valid. */
  order: string[];
  byId: Map<string, SandboxContact>;
  byExternalId: Map<string, SandboxContact>;
  agents: SandboxAgent[];
  agentById: Map<string, SandboxAgent>;
  fromNumbers: string[];
  quirks: Map<string, CallQuirk>;
  /** By lower-case contact id, newest first; kept after the contact is deleted. */
  callsByContact: Map<string, SandboxCall[]>;
  callById: Map<string, SandboxCall>;
  /** Every call of the account, newest first: built on the first account-wide listing or call-id miss. */
  timeline: SandboxCall[] | undefined;
  dialer: Map<string, DialerEntry>;
  /** When the account was seeded (epoch ms): its agents and the calls it generates are dated from it. */
  seededAt: number;
}

/** A contact queued in the auto dialer by `schedule-call` (seeded `nextCallAt`s have none). */
export interface DialerEntry {
  loopId: string;
  agentId: string;
  maxRetryDays: number | null;
  overrideFromNumber: string | null;
  scheduledAt: string;
}

/** An account's seed, from its first contacts' ids: the same contacts give the same agents. */
function accountSeedOf(contacts: readonly SandboxContact[]): number {
  return seedFrom(
    contacts
      .slice(0, 8)
      .map((c) => c.id)
      .join(','),
  );
}

/** The account's outbound numbers (E.164), the `from_number` of its outbound calls. */
function createDemoFromNumbers(seed: number): string[] {
  const r = createRandom(seed ^ 0x7e1e);
  return [`+4930${2000000 + r.int(7_999_999)}`, `+4989${2000000 + r.int(7_999_999)}`];
}

export function createAccount(contacts: readonly SandboxContact[], now = Date.now()): Account {
  const seed = accountSeedOf(contacts);
  const seededAt = seedTime(now);
  const agents = createDemoAgents(seed, seededAt);
  return {
    order: contacts.map((c) => c.id.toLowerCase()),
    byId: new Map(contacts.map((c) => [c.id.toLowerCase(), c])),
    byExternalId: new Map(contacts.filter((c) => c.externalId !== null).map((c) => [c.externalId as string, c])),
    agents,
    agentById: new Map(agents.map((a) => [a.id.toLowerCase(), a])),
    fromNumbers: createDemoFromNumbers(seed),
    quirks: pickCallQuirks(contacts),
    callsByContact: new Map(),
    callById: new Map(),
    timeline: undefined,
    dialer: new Map(),
    seededAt,
  };
}

/** Stores `next` in place of `previous` (or as a new contact), keeping every index in step. */
export function put(account: Account, previous: SandboxContact | undefined, next: SandboxContact) {
  const id = next.id.toLowerCase();
  if (!previous) account.order.push(id);
  // A seeded contact's calls are derived from its seeded state: generate them before it changes.
  else callsOf(account, previous);
  if (previous?.externalId != null && account.byExternalId.get(previous.externalId) === previous)
    account.byExternalId.delete(previous.externalId);
  if (next.externalId !== null) account.byExternalId.set(next.externalId, next);
  account.byId.set(id, next);
}

export function remove(account: Account, contact: SandboxContact) {
  callsOf(account, contact); // telli keeps call records: they stay readable by call id
  const id = contact.id.toLowerCase();
  account.byId.delete(id);
  if (contact.externalId !== null && account.byExternalId.get(contact.externalId) === contact)
    account.byExternalId.delete(contact.externalId);
  account.dialer.delete(id);
}

/** Calls newest first by `triggered_at`; `call_id` breaks ties so every call has one place. */
export const newestFirst = (a: SandboxCall, b: SandboxCall) =>
  b.triggered_at - a.triggered_at || (a.call_id < b.call_id ? -1 : a.call_id > b.call_id ? 1 : 0);

/** The contact's calls, generated from its current (for seeded contacts: still seeded) state once. */
export function callsOf(account: Account, contact: SandboxContact): SandboxCall[] {
  const id = contact.id.toLowerCase();
  let calls = account.callsByContact.get(id);
  if (!calls) {
    const quirk = account.quirks.get(id);
    calls = createDemoCalls(contact, {
      agents: account.agents,
      fromNumbers: account.fromNumbers,
      now: account.seededAt,
      ...(quirk && { quirk }),
    }).sort(newestFirst);
    account.callsByContact.set(id, calls);
    for (const call of calls) account.callById.set(call.call_id.toLowerCase(), call);
  }
  return calls;
}

/** All calls, newest first; the live dialer drops it when it adds a call. */
export function timelineOf(account: Account): SandboxCall[] {
  if (!account.timeline) {
    for (const contact of account.byId.values()) callsOf(account, contact);
    account.timeline = [...account.callsByContact.values()].flat().sort(newestFirst);
  }
  return account.timeline;
}

/** A call the live dialer placed joins the contact's history. */
export function addCall(account: Account, call: SandboxCall) {
  const id = call.contact_id.toLowerCase();
  const calls = account.callsByContact.get(id) ?? [];
  calls.push(call);
  calls.sort(newestFirst);
  account.callsByContact.set(id, calls);
  account.callById.set(call.call_id.toLowerCase(), call);
  account.timeline = undefined;
}

/** A call's record changed (it ended): the new record takes its place. */
export function replaceCall(account: Account, call: SandboxCall) {
  const calls = account.callsByContact.get(call.contact_id.toLowerCase()) ?? [];
  const at = calls.findIndex((c) => c.call_id === call.call_id);
  if (at >= 0) calls[at] = call;
  account.callById.set(call.call_id.toLowerCase(), call);
  account.timeline = undefined;
}
