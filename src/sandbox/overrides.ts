import type { SandboxCall } from './calls/model.js';
import type { SandboxContact } from './contacts/model.js';
import { toV1Batch, toV1Full, toV2 } from './contacts/payloads.js';
import type { TelliObject } from './wire.js';

/**
 * Payloads a test puts in place of the generated ones, as a real telli account could serve after
 * a payload change: a raw v1 contact, a per-item batch error, a raw v2 contact (or none), a raw
 * call. Every endpoint that serves a contact or call asks here first; writes still answer the
 * stored truth. Keyed by lower-case id, shared by every account. Members are properties: closures
 * the routes and the core take apart.
 */
export interface Overrides {
  /** The v1 get-contact object of the contact: its override, or the generated one. */
  v1Full: (contact: SandboxContact) => TelliObject;
  /** The get-contacts-batch `contact` of the contact: its v1 override verbatim, or the generated one. */
  v1Batch: (contact: SandboxContact) => TelliObject;
  /** The v2 object of the contact: its override, the generated one, or `null` (hidden from v2). */
  v2Of: (contact: SandboxContact) => TelliObject | null;
  /** The call as list-calls and get-call serve it. */
  callOut: (call: SandboxCall) => unknown;
  /** The batch read's `status: "error"` message for the contact, if one is set. */
  itemError: (contactId: string) => string | undefined;
  setRawV1: (id: string, raw: TelliObject | undefined) => void;
  setItemError: (id: string, message: string | undefined) => void;
  setRawV2: (id: string, raw: TelliObject | null | undefined) => void;
  setRawCall: (callId: string, raw: TelliObject | undefined) => void;
}

export function createOverrides(): Overrides {
  const rawV1 = new Map<string, TelliObject>();
  const itemErrors = new Map<string, string>();
  const rawV2 = new Map<string, TelliObject | null>();
  const rawCalls = new Map<string, TelliObject>();
  /** `undefined` restores the generated payload. */
  const set = <T>(map: Map<string, T>, id: string, value: T | undefined) => {
    if (value === undefined) map.delete(id.toLowerCase());
    else map.set(id.toLowerCase(), value);
  };
  return {
    v1Full: (c) => rawV1.get(c.id.toLowerCase()) ?? toV1Full(c),
    // A raw override is served verbatim: it stands for a payload telli changed under us.
    v1Batch: (c) => rawV1.get(c.id.toLowerCase()) ?? toV1Batch(toV1Full(c)),
    v2Of(c) {
      const raw = rawV2.get(c.id.toLowerCase());
      return raw === undefined ? toV2(c) : raw;
    },
    callOut: (call) => rawCalls.get(call.call_id.toLowerCase()) ?? call,
    itemError: (contactId) => itemErrors.get(contactId.toLowerCase()),
    setRawV1: (id, raw) => set(rawV1, id, raw),
    setItemError: (id, message) => set(itemErrors, id, message),
    setRawV2: (id, raw) => set(rawV2, id, raw),
    setRawCall: (callId, raw) => set(rawCalls, callId, raw),
  };
}
