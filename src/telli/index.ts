export type { AgentPage, AgentReads, TelliAgent } from './agents.js';
export type { CallPage, CallReads, TelliCall, TelliTranscriptMessage } from './calls.js';
export * from './transport/cancel.js';
export * from './client.js';
export * from './coalescing.js';
export * from './transport/errors.js';
export { recordIdKey } from './shared/ids.js';
export * from './json.js';
export * from './transport/limiter.js';
export {
  parseRetryAfter,
  type CallOptions,
  type TelliClientHooks,
  type TelliClientOptions,
} from './transport/transport.js';
export { TELLI_BATCH_LIMIT, type ContactResult, type V1Reads } from './contacts/v1-reads.js';
export type { ContactPageV2, V2Reads } from './contacts/v2-reads.js';
export {
  ADD_CONTACTS_BATCH_LIMIT,
  DIALER_BATCH_LIMIT,
  MAX_TELLI_MESSAGE_LENGTH,
  safeTelliMessage,
  WRITE_ENDPOINTS,
  type ContactPatch,
  type CreatedContact,
  type ItemOutcome,
  type NewBulkContact,
  type NewContact,
  type PropertyWrite,
  type RejectionReason,
  type ScheduleCallRequest,
  type TelliRejection,
  type Writes,
  type Written,
} from './contacts/writes.js';
export {
  PROPERTY_DATA_TYPES,
  type PropertyDataType,
  type TelliContact,
  type TelliContactProperty,
  type TelliContactV2,
  type TelliPropertyOption,
} from './contacts/schemas.js';
