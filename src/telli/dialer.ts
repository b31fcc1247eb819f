import { z } from 'zod';
import { RETRY } from './transport/retry-policy.js';
import { httpError, type CallOptions, type Transport } from './transport/transport.js';
import { assertUnique, inChunks, sendChunk } from './shared/bulk-writes.js';
import {
  contractError,
  INPUT_REFUSALS,
  itemRejection,
  rejectionOf,
  NO_FIELDS,
  unknownOutcome,
  type ItemOutcome,
  type WireFieldNames,
  type Written,
} from './shared/write-outcomes.js';

/**
 * telli's auto dialer (v1): schedule a call, schedule many, take contacts out. Each queues or
 * dequeues calls to real people, so none is sent again unless telli certainly did not act on it
 * (`RETRY.dialer`).
 */
export const DIALER_ENDPOINTS = {
  scheduleCall: 'POST /v1/schedule-call',
  scheduleCallsBatch: 'POST /v1/schedule-calls-batch',
  removeFromDialerBatch: 'POST /v1/remove-from-auto-dialer-batch',
} as const;

/** `schedule-calls-batch` and `remove-from-auto-dialer-batch` take at most this many (§10). */
export const DIALER_BATCH_LIMIT = 50;

export interface ScheduleCallRequest {
  contactId: string;
  /** telli's default agent when absent. */
  agentId?: string;
  maxRetryDays?: number;
  overrideFromNumber?: string;
}

export interface DialerWrites {
  /** `POST /v1/schedule-call`: queues the contact in telli's auto dialer. */
  scheduleCall: (request: ScheduleCallRequest, call: CallOptions) => Promise<Written<{ loopId: string }>>;
  /** `POST /v1/schedule-calls-batch`, chunked by 50. Results in input order, matched by contact id (unique). */
  scheduleCalls: (
    requests: readonly (ScheduleCallRequest & { agentId: string })[],
    call: CallOptions,
  ) => Promise<ItemOutcome<{ loopId: string }>[]>;
  /** `POST /v1/remove-from-auto-dialer-batch`, chunked by 50. Results in input order, matched by contact id (unique). */
  removeFromDialer: (contactIds: readonly string[], call: CallOptions) => Promise<ItemOutcome<true>[]>;
}

const scheduleCallSchema = z.object({ loop_id: z.string().min(1) });
const scheduleBatchItemSchema = z.object({
  contact_id: z.string(),
  status: z.string(),
  loop_id: z.string().min(1).nullish(),
  error_message: z.string().nullish(),
  error: z.string().nullish(),
  error_code: z.number().nullish(),
});
const removeBatchItemSchema = z.object({
  contact_id: z.string(),
  status: z.string(),
  error: z.string().nullish(),
  error_message: z.string().nullish(),
});

/** Our name → telli v1's, for a call to schedule. */
const V1_NAMES = {
  contactId: 'contact_id',
  agentId: 'agent_id',
  maxRetryDays: 'max_retry_days',
  overrideFromNumber: 'override_from_number',
} as const satisfies Record<keyof ScheduleCallRequest, string>;

/** The schedule endpoints' field names as telli's messages use them. */
const SCHEDULE_FIELD_NAMES: WireFieldNames = Object.fromEntries(
  Object.entries(V1_NAMES).map(([ours, wire]) => [wire, ours]),
);

/** One call to schedule, in v1's names: the keys it has, none invented. */
function v1Schedule(request: ScheduleCallRequest): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const [name, wire] of Object.entries(V1_NAMES) as [keyof ScheduleCallRequest, string][]) {
    const value = request[name];
    if (value !== undefined) item[wire] = value;
  }
  return item;
}

export function createDialerWrites(transport: Transport): DialerWrites {
  const E = DIALER_ENDPOINTS;
  const key = (id: string) => id.toLowerCase();

  return {
    async scheduleCall(request, call) {
      const endpoint = E.scheduleCall;
      const response = await transport.send(
        endpoint,
        'POST',
        '/v1/schedule-call',
        call,
        RETRY.dialer,
        v1Schedule(request),
      );
      if (response.status >= 200 && response.status < 300) {
        const parsed = scheduleCallSchema.safeParse(response.json);
        if (!parsed.success) throw unknownOutcome(endpoint, contractError(endpoint, parsed.error), false);
        return { ok: true, value: { loopId: parsed.data.loop_id } };
      }
      if (INPUT_REFUSALS.has(response.status)) {
        return { ok: false, rejection: rejectionOf(response, call, SCHEDULE_FIELD_NAMES) };
      }
      throw httpError(endpoint, response);
    },

    async scheduleCalls(requests, call) {
      assertUnique(
        requests.map((r) => key(r.contactId)),
        'contactId',
      );
      const endpoint = E.scheduleCallsBatch;
      return inChunks(requests, DIALER_BATCH_LIMIT, (chunk) =>
        sendChunk(
          transport,
          {
            endpoint,
            path: '/v1/schedule-calls-batch',
            body: { contacts: chunk.map(v1Schedule) },
            call,
            retry: RETRY.dialer,
            // Scheduling again may queue a second round of calls to a person.
            safeToRetry: false,
            names: SCHEDULE_FIELD_NAMES,
          },
          chunk,
          (r) => key(r.contactId),
          {
            entries: (json) => (Array.isArray(json) ? json : null),
            entry: (raw) => {
              const item = scheduleBatchItemSchema.safeParse(raw);
              if (!item.success) return null;
              const { contact_id: id, status, loop_id: loopId } = item.data;
              if (status === 'success' && loopId) return [key(id), { status: 'done', value: { loopId } }];
              if (status === 'success') return null;
              const message = item.data.error_message ?? item.data.error;
              return [
                key(id),
                {
                  status: 'refused',
                  rejection: itemRejection(message, item.data.error_code ?? null, call, SCHEDULE_FIELD_NAMES),
                },
              ];
            },
          },
        ),
      );
    },

    async removeFromDialer(contactIds, call) {
      assertUnique(contactIds.map(key), 'contactId');
      const endpoint = E.removeFromDialerBatch;
      return inChunks(contactIds, DIALER_BATCH_LIMIT, (chunk) =>
        sendChunk(
          transport,
          {
            endpoint,
            path: '/v1/remove-from-auto-dialer-batch',
            body: { contact_ids: chunk },
            call,
            retry: RETRY.dialer,
            // Removing twice takes nothing more out of the dialer (the second says it is not in it).
            safeToRetry: true,
            // Its items are bare ids: a refusal is about the id itself, never a field of it.
            names: NO_FIELDS,
          },
          chunk,
          key,
          {
            entries: (json) => (Array.isArray(json) ? json : null),
            entry: (raw) => {
              const item = removeBatchItemSchema.safeParse(raw);
              if (!item.success) return null;
              const { contact_id: id, status } = item.data;
              if (status === 'success') return [key(id), { status: 'done', value: true }];
              const message = item.data.error ?? item.data.error_message;
              return [key(id), { status: 'refused', rejection: itemRejection(message, null, call, NO_FIELDS) }];
            },
          },
        ),
      );
    },
  };
}
