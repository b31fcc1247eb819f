import { z } from 'zod';
import { jsonObjectSchema, type JsonObject } from './json.js';

/**
 * zod schemas of telli's payloads. The docs mark no v1 response field as required, so every field
 * but the id is optional: unknown fields are dropped, absent or null fields become `null`. A field
 * that is present with the wrong JSON type breaks the contract for that contact only.
 */
const optionalString = z
  .string()
  .nullish()
  .transform((v) => v ?? null);

/** The contact as the rest of the layer sees it: camelCase, every optional field explicit. */
export interface TelliContact {
  id: string;
  externalId: string | null;
  externalUrl: string | null;
  createdAt: string | null;
  firstName: string | null;
  lastName: string | null;
  phoneNumber: string | null;
  email: string | null;
  timezone: string | null;
  salutation: string | null;
  /** Raw telli value; the batch and external-id endpoints omit it. */
  status: string | null;
  inCallSince: string | null;
  reachedAt: string | null;
  nextCallAt: string | null;
  callAttempts: number | null;
  contactDetails: JsonObject;
}

export const v1ContactSchema = z
  .object({
    contact_id: z.string().min(1),
    external_contact_id: optionalString,
    external_url: optionalString,
    created_at: optionalString,
    first_name: optionalString,
    last_name: optionalString,
    phone_number: optionalString,
    email: optionalString,
    timezone: optionalString,
    salutation: optionalString,
    status: optionalString,
    in_call_since: optionalString,
    reached_at: optionalString,
    next_call_at: optionalString,
    call_attempts: z
      .number()
      .int()
      .nullish()
      .transform((v) => v ?? null),
    contact_details: jsonObjectSchema.nullish().transform((v) => v ?? {}),
  })
  .transform((c): TelliContact => ({
    id: c.contact_id,
    externalId: c.external_contact_id,
    externalUrl: c.external_url,
    createdAt: c.created_at,
    firstName: c.first_name,
    lastName: c.last_name,
    phoneNumber: c.phone_number,
    email: c.email,
    timezone: c.timezone,
    salutation: c.salutation,
    status: c.status,
    inCallSince: c.in_call_since,
    reachedAt: c.reached_at,
    nextCallAt: c.next_call_at,
    callAttempts: c.call_attempts,
    contactDetails: c.contact_details,
  }));

/**
 * One entry of the `get-contacts-batch` array. The docs disagree on which keys appear when (the
 * newer sample omits `status`, and shows `error`/`contactId` beside `contact`), so all are optional
 * here and `contact` is validated separately: one broken contact must not fail its neighbours.
 */
export const batchItemSchema = z.object({
  status: z.string().nullish(),
  contact: z.unknown().optional(),
  error: z.unknown().optional(),
  contactId: z.string().nullish(),
});

export const batchResponseSchema = z.array(z.unknown());

export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
}
