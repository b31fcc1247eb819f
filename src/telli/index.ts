export type { AgentPage, AgentReads, TelliAgent } from './agents.js';
export type { CallPage, CallReads, TelliCall, TelliTranscriptMessage } from './calls.js';
export * from './transport/cancel.js';
export { createTelliBudget, type BudgetHooks, type TelliBudget, type TelliBudgetOptions } from './transport/budget.js';
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
  MAX_TELLI_MESSAGE_LENGTH,
  safeTelliMessage,
  type ItemOutcome,
  type RejectionReason,
  type TelliRejection,
  type Written,
} from './shared/write-outcomes.js';
export type { ContactPatch, NewBulkContact, NewContact, PropertyWrite } from './contacts/bodies.js';
export type { CreatedContact } from './contacts/lost-create.js';
export { ADD_CONTACTS_BATCH_LIMIT, type ContactWrites } from './contacts/writes.js';
export { DIALER_BATCH_LIMIT, type DialerWrites, type ScheduleCallRequest } from './dialer.js';
export {
  PROPERTY_DATA_TYPES,
  type PropertyDataType,
  type TelliContact,
  type TelliContactProperty,
  type TelliContactV2,
  type TelliPropertyOption,
} from './contacts/schemas.js';
