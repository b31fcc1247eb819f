import { TelliContractError, TelliOutcomeUnknownError } from '../transport/errors.js';
import type { RetryPolicy } from '../transport/retry-policy.js';
import { httpError, type CallOptions, type JsonResponse, type Transport } from '../transport/transport.js';
import {
  asTelliError,
  INPUT_REFUSALS,
  rejectionOf,
  unknownOutcome,
  type ItemOutcome,
  type WireFieldNames,
} from './write-outcomes.js';

/*
 * telli's bulk writes (the v1 bulk create, the dialer's batches): a list is sent in chunks of the
 * endpoint's limit, one chunk after the other, and each item's result is matched back by its key
 * — telli documents no result order (the sandbox reverses it), so never by position.
 */

/** One bulk endpoint's chunk, as `sendChunk` sends it. */
export interface BulkChunkRequest {
  endpoint: string;
  path: string;
  body: unknown;
  call: CallOptions;
  retry: RetryPolicy;
  /** Whether sending the chunk again is harmless: the `safeToRetry` of an unknown outcome. */
  safeToRetry: boolean;
  /** The endpoint's wire field names, to name the field a refusal of the whole chunk is about. */
  names: WireFieldNames;
}

/** How to read an answer: its entries, and each entry as (item key, outcome); `null` for what is unreadable. */
export interface BulkAnswerReader<R> {
  entries: (json: unknown) => unknown[] | null;
  entry: (raw: unknown) => [string, ItemOutcome<R>] | null;
}

/** Results are matched by this key: a duplicate would make the match ambiguous. */
export function assertUnique(keys: readonly string[], what: string): void {
  if (new Set(keys).size !== keys.length) {
    throw new Error(`${what} must be unique in one bulk write`);
  }
}

function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** `send` for each chunk of at most `size` items, in order; the results in the order of `items`. */
export async function inChunks<T, R>(
  items: readonly T[],
  size: number,
  send: (chunk: T[]) => Promise<ItemOutcome<R>[]>,
): Promise<ItemOutcome<R>[]> {
  const out: ItemOutcome<R>[] = [];
  // One chunk after the other: telli's rate limit is undocumented, and a bulk write is rare.
  for (const chunk of chunksOf(items, size)) out.push(...(await send(chunk)));
  return out;
}

/**
 * One bulk chunk: the whole request refused → every item refused with telli's message; no
 * answer → every item failed with the error (an unknown outcome's `safeToRetry` as given);
 * otherwise each item's entry, matched by `keyOf`, and a missing or broken entry fails its item.
 */
export async function sendChunk<T, R>(
  transport: Transport,
  request: BulkChunkRequest,
  chunk: readonly T[],
  keyOf: (item: T) => string,
  read: BulkAnswerReader<R>,
): Promise<ItemOutcome<R>[]> {
  const { endpoint, path, body, call, retry, safeToRetry, names } = request;
  let response: JsonResponse;
  try {
    response = await transport.send(endpoint, 'POST', path, call, retry, body);
  } catch (error) {
    const failure = asTelliError(error);
    const fixed =
      failure instanceof TelliOutcomeUnknownError
        ? new TelliOutcomeUnknownError(endpoint, failure.lastFailure, safeToRetry)
        : failure;
    return chunk.map(() => ({ status: 'failed', error: fixed }));
  }
  if (response.status < 200 || response.status >= 300) {
    if (!INPUT_REFUSALS.has(response.status)) {
      const failure = httpError(endpoint, response);
      return chunk.map(() => ({ status: 'failed', error: failure }));
    }
    const rejection = rejectionOf(response, call, names);
    return chunk.map(() => ({ status: 'refused', rejection }));
  }
  const entries = read.entries(response.json);
  if (!entries) {
    const failure = unknownOutcome(
      endpoint,
      new TelliContractError(endpoint, ['(root): unexpected shape']),
      safeToRetry,
    );
    return chunk.map(() => ({ status: 'failed', error: failure }));
  }
  const byKey = new Map<string, ItemOutcome<R> | 'conflicting'>();
  for (const raw of entries) {
    const parsed = read.entry(raw);
    if (!parsed) continue;
    const [key, outcome] = parsed;
    byKey.set(key, byKey.has(key) ? 'conflicting' : outcome);
  }
  return chunk.map((item) => {
    const found = byKey.get(keyOf(item));
    if (found !== undefined && found !== 'conflicting') return found;
    const issue = found === undefined ? 'no result for this item' : 'several results for this item';
    return {
      status: 'failed',
      error: unknownOutcome(endpoint, new TelliContractError(endpoint, [issue]), safeToRetry),
    };
  });
}
