import { z } from 'zod';
import { jsonObjectSchema, type JsonObject } from './json.js';

/**
 * zod schemas of telli's payloads. The docs mark no v1 response field as required, so every field
 * but the id is optional: unknown fields are dropped, absent or null fields become `null`. A field
 * that is present with the wrong JSON type breaks the contract for that contact only.
 */
const optionalString = z.string().nullish();

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
    call_attempts: z.number().int().nullish(),
    contact_details: jsonObjectSchema.nullish(),
  })
  // One transform for the whole object (not one per optional field): this runs for every contact
  // telli returns, and each zod transform is a pipe of its own.
  .transform((c): TelliContact => ({
    id: c.contact_id,
    externalId: c.external_contact_id ?? null,
    externalUrl: c.external_url ?? null,
    createdAt: c.created_at ?? null,
    firstName: c.first_name ?? null,
    lastName: c.last_name ?? null,
    phoneNumber: c.phone_number ?? null,
    email: c.email ?? null,
    timezone: c.timezone ?? null,
    salutation: c.salutation ?? null,
    status: c.status ?? null,
    inCallSince: c.in_call_since ?? null,
    reachedAt: c.reached_at ?? null,
    nextCallAt: c.next_call_at ?? null,
    callAttempts: c.call_attempts ?? null,
    contactDetails: c.contact_details ?? {},
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
