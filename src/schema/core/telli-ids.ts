import { badUserInput } from './errors.js';

/** A lone surrogate: valid in a JSON string, not in Unicode, and not encodable into a URL. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Longest call or agent id accepted; bounds the URL we build. */
export const MAX_RECORD_ID_LENGTH = 128;

/**
 * A call or agent id from a client, or BAD_USER_INPUT. telli's ids are UUIDs in everything seen so
 * far, but neither `get-call` nor `/v2/agents/{id}` documents a format, so any 1–128 characters are
 * passed on (percent-encoded); an id telli does not know is `null`, not an error.
 */
export function parseRecordId(id: string, what: 'call' | 'agent'): string {
  if (id.length < 1 || id.length > MAX_RECORD_ID_LENGTH) {
    throw badUserInput(
      `${what === 'agent' ? 'An' : 'A'} ${what} id must be 1–${MAX_RECORD_ID_LENGTH} characters long.`,
    );
  }
  // It goes into telli's URL, which cannot hold a lone surrogate (encodeURIComponent throws).
  if (LONE_SURROGATE.test(id)) {
    throw badUserInput(`The ${what} id must be well-formed Unicode (it contains a lone surrogate).`);
  }
  return id;
}
