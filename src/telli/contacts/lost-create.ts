import { TelliOutcomeUnknownError, type TelliError } from '../transport/errors.js';
import type { CallOptions } from '../transport/transport.js';
import { asTelliError, type Written } from '../shared/write-outcomes.js';
import type { NewContact } from './bodies.js';
import type { TelliContactV2 } from './schemas.js';

/*
 * A create whose answer was lost (`TelliOutcomeUnknownError`) is never sent again blindly. With an
 * external id — unique per account — it can be settled: telli is asked once for that id; found
 * (with the fields sent) is success, absent means it did not land and it is sent once more (a 409
 * then means the first attempt landed after all).
 */

export interface CreatedContact {
  contact: TelliContactV2;
  /**
   * `answer`: telli's 201. `lookup`: the answer was lost, and the contact was found by its
   * external id afterwards, with the fields this create sent.
   */
  via: 'answer' | 'lookup';
}

/** How a settlement reaches telli: the create itself, and the lookup by external id. */
export interface CreateAndLookUp {
  /** Sends the create once (the transport's retries included); throws what it throws. */
  post(contact: NewContact, call: CallOptions): Promise<Written<CreatedContact>>;
  /** Straight to telli, not through the shared reads: a lookup must not join a read from before the create. */
  lookUp(externalId: string, call: CallOptions): Promise<TelliContactV2 | null>;
}

/**
 * Whether the contact telli holds under our external id is the one we asked to create: every
 * field we sent has the value we sent (emails compared without case). Another contact that held
 * the external id before means our create could only have been refused with a 409.
 */
function isSameContact(found: TelliContactV2, sent: NewContact): boolean {
  const same = (a: string | null, b: string | undefined) => b === undefined || a === b;
  return (
    found.firstName === sent.firstName &&
    found.lastName === sent.lastName &&
    found.phoneNumber === sent.phoneNumber &&
    same(found.externalUrl, sent.externalUrl) &&
    same(found.salutation, sent.salutation) &&
    same(found.timezone, sent.timezone) &&
    same(found.email?.toLowerCase() ?? null, sent.email?.toLowerCase())
  );
}

/** The outcome of a create that had this external id and got no answer. */
export async function settleLostCreate(
  sent: NewContact & { externalId: string },
  lost: TelliOutcomeUnknownError,
  call: CallOptions,
  telli: CreateAndLookUp,
): Promise<Written<CreatedContact>> {
  // The external id is unique per account: sending the create again cannot duplicate it.
  const stillUnknown = (last: TelliError) => new TelliOutcomeUnknownError(lost.endpoint, last, true);
  const foundNow = async (last: TelliError): Promise<Written<CreatedContact> | null> => {
    let found: TelliContactV2 | null;
    try {
      found = await telli.lookUp(sent.externalId, call);
    } catch {
      throw stillUnknown(last);
    }
    if (found === null) return null;
    if (isSameContact(found, sent)) return { ok: true, value: { contact: found, via: 'lookup' } };
    return { ok: false, rejection: { reason: 'external-id-taken', status: 409, message: null, field: null } };
  };

  const first = await foundNow(lost.lastFailure);
  if (first) return first;
  let again: Written<CreatedContact>;
  try {
    again = await telli.post(sent, call);
  } catch (error) {
    // Refused at the door (429, not sent) or lost again: the first attempt is still unsettled.
    throw stillUnknown(error instanceof TelliOutcomeUnknownError ? error.lastFailure : asTelliError(error));
  }
  if (again.ok || again.rejection.reason !== 'external-id-taken') return again;
  // 409 on the second attempt: the first one landed after our lookup.
  const late = await foundNow(lost.lastFailure);
  if (late) return late;
  throw stillUnknown(lost.lastFailure);
}
