import { callsOf, newestFirst, timelineOf } from '../account.js';
import type { Overrides } from '../overrides.js';
import {
  contactAt,
  json,
  pageLimit,
  UUID,
  v1Error,
  type Route,
  type RouteContext,
  type SandboxResponse,
} from '../wire.js';
import type { SandboxCall } from './model.js';

/** telli's call endpoints: `GET /v1/list-calls` and `GET /v1/get-call/{callId}` (§7, §12). */

const CALL_CURSOR = /^(\d{1,16}):([0-9a-f-]{36})$/;

/** A list-calls cursor names the last call served, so it survives calls vanishing from the list. */
const encodeCallCursor = (call: SandboxCall) =>
  Buffer.from(`${call.triggered_at}:${call.call_id}`).toString('base64url');

function decodeCallCursor(cursor: string): Pick<SandboxCall, 'triggered_at' | 'call_id'> | undefined {
  const match = CALL_CURSOR.exec(Buffer.from(cursor, 'base64url').toString());
  return match ? { triggered_at: Number(match[1]), call_id: match[2] as string } : undefined;
}

/** The index of the first call that comes after `last` in newest-first order (binary search). */
function indexAfter(calls: readonly SandboxCall[], last: Pick<SandboxCall, 'triggered_at' | 'call_id'>): number {
  let low = 0;
  let high = calls.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (newestFirst(calls[mid] as SandboxCall, last as SandboxCall) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

export function createCallRoutes({ callOut }: Pick<Overrides, 'callOut'>): Route[] {
  /**
   * `GET /v1/list-calls`. A deleted contact's calls are not listed (neither for its id nor for
   * the account) but stay readable through get-call, as telli keeps call records.
   */
  function listCalls({ account, query }: RouteContext): SandboxResponse {
    const limit = pageLimit(query);
    if (limit === undefined) return v1Error(400, 'limit must be an integer between 1 and 100');
    const contactId = query.get('contact_id');
    if (contactId !== null && !UUID.test(contactId)) return v1Error(400, 'Invalid contact_id');
    const cursor = query.get('cursor');
    const last = cursor ? decodeCallCursor(cursor) : undefined;
    if (cursor && !last) return v1Error(400, 'invalid cursor');
    let source: readonly SandboxCall[];
    if (contactId !== null) {
      const contact = contactAt(account, contactId);
      source = contact ? callsOf(account, contact) : [];
    } else source = timelineOf(account);
    const live = (call: SandboxCall) => account.byId.has(call.contact_id.toLowerCase());
    const page: SandboxCall[] = [];
    let i = last ? indexAfter(source, last) : 0;
    for (; i < source.length && page.length < limit; i++) {
      const call = source[i] as SandboxCall;
      if (live(call)) page.push(call);
    }
    while (i < source.length && !live(source[i] as SandboxCall)) i++;
    const more = i < source.length;
    return json(200, {
      calls: page.map(callOut),
      next_cursor: more ? encodeCallCursor(page.at(-1) as SandboxCall) : null,
    });
  }

  function getCall({ account, params }: RouteContext): SandboxResponse {
    const id = (params[0] ?? '').toLowerCase();
    // An id not generated yet may belong to any contact: generate the account's calls once.
    if (!account.callById.has(id) && UUID.test(id)) timelineOf(account);
    const call = account.callById.get(id);
    return call ? json(200, callOut(call)) : v1Error(404, 'Call not found');
  }

  return [
    { method: 'GET', segments: ['v1', 'list-calls'], name: 'GET /v1/list-calls', run: listCalls },
    { method: 'GET', segments: ['v1', 'get-call', '{callId}'], name: 'GET /v1/get-call/{callId}', run: getCall },
  ];
}
