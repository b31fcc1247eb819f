import { z } from 'zod';
import { describeIssues, TelliContractError } from '../transport/errors.js';
import type { RetryPolicy } from '../transport/retry-policy.js';
import { httpError, type CallOptions, type Transport } from '../transport/transport.js';

/**
 * The envelope of telli's v2 list endpoints (`GET /v2/contacts`, `GET /v2/agents`). Items are
 * validated one by one afterwards (one broken record must not fail its page); `type` and `meta`
 * are undocumented and unused.
 */
const v2ListSchema = z.object({
  data: z.array(z.unknown()),
  pageInfo: z.object({
    hasNextPage: z.boolean(),
    nextCursor: z
      .string()
      .min(1)
      .nullish()
      .transform((v) => v ?? null),
  }),
});

/** Which page of a v2 list: telli's `limit` (1–100) and `cursor` (`null` for the first page). */
export interface V2PageRequest {
  limit: number;
  cursor: string | null;
  call: CallOptions;
}

/**
 * One page of a v2 list endpoint, each item validated on its own — one broken record fails only
 * itself, as a TelliContractError in its place, never its page. `nextCursor` is `null` on the
 * last page.
 */
export async function readV2ListPage<S extends z.ZodType>(
  transport: Transport,
  endpoint: string,
  path: string,
  schema: S,
  { limit, cursor, call }: V2PageRequest,
  retry: RetryPolicy,
): Promise<{ items: (z.output<S> | TelliContractError)[]; hasNextPage: boolean; nextCursor: string | null }> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor !== null) query.set('cursor', cursor);
  const response = await transport.send(endpoint, 'GET', `${path}?${query}`, call, retry);
  if (response.status !== 200) throw httpError(endpoint, response);
  const page = v2ListSchema.safeParse(response.json);
  if (!page.success) throw new TelliContractError(endpoint, describeIssues(page.error));
  const { hasNextPage, nextCursor } = page.data.pageInfo;
  // Either would make a client that follows `endCursor` stop early or loop forever.
  if (hasNextPage && nextCursor === null) {
    throw new TelliContractError(endpoint, ['pageInfo.nextCursor: missing although hasNextPage is true']);
  }
  if (hasNextPage && nextCursor === cursor) {
    throw new TelliContractError(endpoint, ['pageInfo.nextCursor: did not advance']);
  }
  const items = page.data.data.map((raw, index) => {
    const parsed = schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    return new TelliContractError(
      endpoint,
      describeIssues(parsed.error).map((issue) => `data[${index}].${issue}`),
    );
  });
  return { items, hasNextPage, nextCursor: hasNextPage ? nextCursor : null };
}
