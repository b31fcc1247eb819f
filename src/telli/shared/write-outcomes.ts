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
 * telli's reason and words, made safe to show), or failed. The endpoint modules (`contacts/`,
 * `dialer.ts`) read their answers into these; the schema turns them into payloads.
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
}

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

/** Statuses that refuse the input itself; every other non-2xx is thrown as a `TelliHttpError`. */
export const INPUT_REFUSALS: ReadonlySet<number> = new Set([400, 404, 409, 422]);

/** The refusal a whole request was answered with (one of `INPUT_REFUSALS`). */
export function rejectionOf(response: JsonResponse, call: CallOptions): TelliRejection {
  const body = errorBodySchema.safeParse(response.errorBody);
  const message = body.success ? safeTelliMessage(body.data.message ?? body.data.error, call.apiKey) : null;
  return { reason: reasonOf(message, response.status), status: response.status, message };
}

/** The refusal of one item of a batch, from its entry's message and error code. */
export function itemRejection(
  message: string | null | undefined,
  status: number | null,
  call: CallOptions,
): TelliRejection {
  const safe = safeTelliMessage(message, call.apiKey);
  // A per-item error code is not an HTTP status of the request: only the words tell the reason.
  return { reason: reasonOf(safe, status === 404 || status === 409 ? status : null), status, message: safe };
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
