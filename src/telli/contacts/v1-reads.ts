import { TelliContractError, TelliError, TelliItemError, TelliNetworkError } from '../transport/errors.js';
import { RETRY } from '../transport/retry-policy.js';
import { httpError, type CallOptions, type TelliClientHooks, type Transport } from '../transport/transport.js';
import { parseV1Contact, v1ContactSchema, type TelliContact } from './schemas.js';

/** telli's documented ceiling for `contact_ids` in one `get-contacts-batch` call. */
export const TELLI_BATCH_LIMIT = 1000;

export const V1_ENDPOINTS = {
  contactsBatch: 'POST /v1/get-contacts-batch',
  contactByExternalId: 'GET /v1/get-contact-by-external-id',
  verifyApiKey: 'GET /v1/verify-api-key',
} as const;

/** What one id resolves to: the contact, `null` when telli has none, or why it failed. */
export type ContactResult = TelliContact | null | TelliError;

/** telli's v1 contact reads: the only source of call state, and the only batch read. */
export interface V1Reads {
  /** Contacts by telli id, keyed by lower-cased id. Chunks above the vendor limit; never throws for a failed chunk — its ids map to the error. */
  getContactsBatch(ids: readonly string[], call: CallOptions): Promise<Map<string, ContactResult>>;
  /** The (reduced) contact for an external id, or `null` on 404. Throws a `TelliError` otherwise. */
  getContactByExternalId(externalId: string, call: CallOptions): Promise<TelliContact | null>;
}

const NOT_FOUND = /not[\s_-]*found/i;

export function createV1Reads(transport: Transport, hooks: TelliClientHooks): V1Reads {
  async function fetchChunk(ids: readonly string[], call: CallOptions, out: Map<string, ContactResult>): Promise<void> {
    const endpoint = V1_ENDPOINTS.contactsBatch;
    let json: unknown;
    try {
      // A POST that only reads: retried like any read.
      const response = await transport.send(endpoint, 'POST', '/v1/get-contacts-batch', call, RETRY.read, {
        contact_ids: ids,
      });
      if (response.status !== 200) throw httpError(endpoint, response);
      json = response.json;
    } catch (error) {
      const failure = error instanceof TelliError ? error : new TelliNetworkError(endpoint, 'UNKNOWN');
      for (const id of ids) out.set(id, failure);
      return;
    }
    if (!Array.isArray(json)) {
      const failure = new TelliContractError(endpoint, ['(root): expected array']);
      for (const id of ids) out.set(id, failure);
      return;
    }
    const chunkResults = new Map<string, ContactResult>();
    const unattributed: string[] = [];
    for (let index = 0; index < json.length; index++) {
      const result = parseBatchItem(json[index], index);
      if ('unattributed' in result) unattributed.push(result.unattributed);
      else chunkResults.set(result.id, result.value);
    }
    // telli's result order is undocumented: map by id, never by position.
    for (const id of ids) {
      const found = chunkResults.get(id);
      if (found !== undefined) out.set(id, found);
      // An id with no entry is "not found" — unless some entry could not be attributed to an id,
      // in which case it may have been this one, and claiming absence would be a lie.
      else out.set(id, unattributed.length ? new TelliContractError(endpoint, unattributed, true) : null);
    }
  }

  return {
    async getContactsBatch(ids, call) {
      const out = new Map<string, ContactResult>();
      const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
      const chunks: string[][] = [];
      for (let i = 0; i < unique.length; i += TELLI_BATCH_LIMIT) chunks.push(unique.slice(i, i + TELLI_BATCH_LIMIT));
      for (const chunk of chunks) hooks.onBatch?.(chunk.length);
      await Promise.all(chunks.map((chunk) => fetchChunk(chunk, call, out)));
      return out;
    },

    getContactByExternalId: (externalId, call) =>
      transport.readOne(
        V1_ENDPOINTS.contactByExternalId,
        `/v1/get-contact-by-external-id/${encodeURIComponent(externalId)}`,
        call,
        v1ContactSchema,
        RETRY.lookup,
      ),
  };
}

type ParsedItem = { id: string; value: ContactResult } | { unattributed: string };

/**
 * One entry of the `get-contacts-batch` array. The docs disagree on which keys appear when (the
 * newer sample omits `status`, and shows `error`/`contactId` beside `contact`), so all are optional
 * here and `contact` is checked on its own: one broken contact must not fail its neighbours. Checked
 * by hand, not by zod: this runs for every contact of every list (see `parseV1Contact`).
 */
function parseBatchItem(raw: unknown, index: number): ParsedItem {
  const endpoint = V1_ENDPOINTS.contactsBatch;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { unattributed: `[${index}]: (root): expected object` };
  }
  const { status, contact, error, contactId } = raw as Record<string, unknown>;
  const entryIssues = [
    ...(status === undefined || status === null || typeof status === 'string' ? [] : ['status: expected string']),
    ...(contactId === undefined || contactId === null || typeof contactId === 'string'
      ? []
      : ['contactId: expected string']),
  ];
  if (entryIssues.length > 0) return { unattributed: `[${index}]: ${entryIssues.join(', ')}` };
  const id = ((contactId as string | null | undefined) ?? contactIdOf(contact))?.toLowerCase();
  if (status === 'error') {
    if (!id) return { unattributed: `[${index}]: error entry without contactId` };
    return { id, value: typeof error === 'string' && NOT_FOUND.test(error) ? null : new TelliItemError(endpoint) };
  }
  if (contact === undefined || contact === null) {
    if (!id) return { unattributed: `[${index}]: entry without contact` };
    return { id, value: null };
  }
  const parsed = parseV1Contact(contact);
  if (!parsed.ok) {
    if (!id) return { unattributed: `[${index}].contact: ${parsed.issues.join(', ')}` };
    return { id, value: new TelliContractError(endpoint, parsed.issues) };
  }
  return { id: parsed.contact.id.toLowerCase(), value: parsed.contact };
}

function contactIdOf(contact: unknown): string | undefined {
  if (contact && typeof contact === 'object' && 'contact_id' in contact) {
    const id = contact.contact_id;
    if (typeof id === 'string' && id.length > 0) return id;
  }
  return undefined;
}
