import { z } from 'zod';
import {
  describeIssues,
  TelliContractError,
  TelliError,
  TelliNetworkError,
  TelliOutcomeUnknownError,
} from '../transport/errors.js';
import type { CallOptions, JsonResponse } from '../transport/transport.js';

/*
 * What a telli write comes to, for every resource that writes: done, refused for its input (with
 * telli's reason and words, made safe to show, and the input field they name in the layer's
 * names), or failed. The endpoint modules (`contacts/`, `dialer.ts`) read their answers into
 * these; the schema turns them into payloads without knowing a word of telli's wire names.
 */

/** The longest piece of a telli message that may reach a client. */
export const MAX_TELLI_MESSAGE_LENGTH = 200;

/** Why telli refused a write, as far as its status and its (undocumented) messages tell. */
export type RejectionReason =
  'invalid' | 'contact-not-found' | 'agent-not-found' | 'external-id-taken' | 'not-in-dialer' | 'other';

/** telli refused a write (or one item of a batch) because of its input. */
export interface TelliRejection {
  reason: RejectionReason;
  /** The HTTP status, or a batch item's `error_code`; `null` when there is none. */
  status: number | null;
  /**
   * telli's message, made safe to show: at most `MAX_TELLI_MESSAGE_LENGTH` characters, with
   * URLs and the API key removed; `null` when telli gave none. Only ever a message field of a
   * JSON error body, never the raw body.
   */
  message: string | null;
  /**
   * The input field telli's message names, in the layer's names (`timezone` for telli's
   * `timezoneIana`, `firstName` for v1's `first_name`); `null` when it names none.
   */
  field: string | null;
}

/**
 * An endpoint's wire field names, each with the layer's name for it: how a refusal's message is
 * traced back to the input field it is about.
 */
export type WireFieldNames = Readonly<Record<string, string>>;

/** No field to name (an endpoint whose items are bare ids). */
export const NO_FIELDS: WireFieldNames = {};

/** A write that telli answered: done, or refused for its input. Other failures are thrown `TelliError`s. */
export type Written<T> = { ok: true; value: T } | { ok: false; rejection: TelliRejection };

/** One item of a bulk write: done, refused, or failed with the rest of its chunk (or on its own). */
export type ItemOutcome<T> =
  | { status: 'done'; value: T }
  | { status: 'refused'; rejection: TelliRejection }
  | { status: 'failed'; error: TelliError };

// --- telli's refusals -----------------------------------------------------------------------

/** Error bodies: v2 answers `{ message, code }`, v1 `{ message }`, older endpoints `{ error }`. */
const errorBodySchema = z.object({
  message: z.string().optional().catch(undefined),
  error: z.string().optional().catch(undefined),
  code: z.string().optional().catch(undefined),
});

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi;
const BEARER_IN_TEXT = /\bbearer\s+\S+/gi;
// eslint-disable-next-line no-control-regex -- stripping control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;

/**
 * telli's message as a client may see it: one line, no URL (telli's or any other), no API key,
 * at most `MAX_TELLI_MESSAGE_LENGTH` characters.
 */
export function safeTelliMessage(raw: unknown, apiKey: string | undefined): string | null {
  if (typeof raw !== 'string') return null;
  let text = raw.replace(CONTROL, ' ');
  if (apiKey) text = text.split(apiKey).join('[redacted]');
  text = text.replace(URL_IN_TEXT, '[url]').replace(BEARER_IN_TEXT, 'Bearer [redacted]').replace(/\s+/g, ' ').trim();
  if (text === '') return null;
  const chars = [...text];
  return chars.length <= MAX_TELLI_MESSAGE_LENGTH ? text : `${chars.slice(0, MAX_TELLI_MESSAGE_LENGTH - 1).join('')}…`;
}

/**
 * What telli's words say about a refusal. Its v1 messages are undocumented beyond samples
 * (`Contact not found`, `External ID already exists, must be unique`): anything unrecognised is
 * `invalid` for a 400/422 and `other` otherwise.
 */
function reasonOf(message: string | null, status: number | null): RejectionReason {
  const text = message ?? '';
  if (/already exists|must be unique/i.test(text) || status === 409) return 'external-id-taken';
  if (/\bagent\b.*\bnot[\s_-]*found/i.test(text)) return 'agent-not-found';
  if (/\bcontact\b.*\bnot[\s_-]*found/i.test(text) || status === 404) return 'contact-not-found';
  if (/not in (the )?(auto[\s-]?)?dialer/i.test(text)) return 'not-in-dialer';
  if (status === 400 || status === 422 || /invalid|must|required/i.test(text)) return 'invalid';
  return 'other';
}

/**
 * Which input field telli's message is about: the first wire field name it mentions as a word
 * (telli's messages are undocumented; they start with the field in practice). `null` when none.
 */
function fieldNamed(message: string | null, names: WireFieldNames): string | null {
  if (!message) return null;
  let best: { at: number; field: string } | null = null;
  for (const [wire, field] of Object.entries(names)) {
    const match = new RegExp(`(^|[^A-Za-z0-9_])${wire}([^A-Za-z0-9_]|$)`).exec(message);
    if (match && (best === null || match.index < best.at)) best = { at: match.index, field };
  }
  return best?.field ?? null;
}

/** Statuses that refuse the input itself; every other non-2xx is thrown as a `TelliHttpError`. */
export const INPUT_REFUSALS: ReadonlySet<number> = new Set([400, 404, 409, 422]);

/** The refusal a whole request was answered with (one of `INPUT_REFUSALS`); `names` are the endpoint's. */
export function rejectionOf(response: JsonResponse, call: CallOptions, names: WireFieldNames): TelliRejection {
  const body = errorBodySchema.safeParse(response.errorBody);
  const message = body.success ? safeTelliMessage(body.data.message ?? body.data.error, call.apiKey) : null;
  return {
    reason: reasonOf(message, response.status),
    status: response.status,
    message,
    field: fieldNamed(message, names),
  };
}

/** The refusal of one item of a batch, from its entry's message and error code; `names` are the endpoint's. */
export function itemRejection(
  message: string | null | undefined,
  status: number | null,
  call: CallOptions,
  names: WireFieldNames,
): TelliRejection {
  const safe = safeTelliMessage(message, call.apiKey);
  // A per-item error code is not an HTTP status of the request: only the words tell the reason.
  const reason = reasonOf(safe, status === 404 || status === 409 ? status : null);
  return { reason, status, message: safe, field: fieldNamed(safe, names) };
}

// --- failures -------------------------------------------------------------------------------

export function contractError(endpoint: string, error: z.ZodError): TelliContractError {
  return new TelliContractError(endpoint, describeIssues(error));
}

export function unknownOutcome(endpoint: string, cause: TelliError, safeToRetry = false): TelliOutcomeUnknownError {
  return new TelliOutcomeUnknownError(endpoint, cause, safeToRetry);
}

export function asTelliError(error: unknown): TelliError {
  if (error instanceof TelliError) return error;
  return new TelliNetworkError('telli', 'UNKNOWN');
}
