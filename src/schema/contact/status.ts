import type { TelliContact } from '../../telli/index.js';
import { builder } from '../core/builder.js';

/*
 * A contact's status: telli's own word when it is one of the three the get-contact page documents,
 * otherwise derived from the call timestamps — telli's batch read never sends `status`.
 */

export type ContactStatusValue = 'reached' | 'not_reached' | 'in_progress';
const KNOWN_STATUSES: ReadonlySet<string> = new Set<ContactStatusValue>(['reached', 'not_reached', 'in_progress']);

/** telli's status when it sent a known one; otherwise derived from the call timestamps. */
export function contactStatusOf(contact: TelliContact): { status: ContactStatusValue; unknownRaw?: string } {
  if (contact.status !== null && KNOWN_STATUSES.has(contact.status)) {
    return { status: contact.status as ContactStatusValue };
  }
  const status: ContactStatusValue = contact.inCallSince
    ? 'in_progress'
    : contact.reachedAt
      ? 'reached'
      : 'not_reached';
  return contact.status === null ? { status } : { status, unknownRaw: contact.status };
}

export const ContactStatus = builder.enumType('ContactStatus', {
  description: "Where telli's AI agent stands with a contact.",
  values: {
    REACHED: { value: 'reached', description: 'A conversation with the contact has happened.' },
    NOT_REACHED: { value: 'not_reached', description: 'The contact has not been reached (yet).' },
    IN_PROGRESS: { value: 'in_progress', description: 'A call with the contact is in progress right now.' },
  } as const,
});
