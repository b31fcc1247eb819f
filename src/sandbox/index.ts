/**
 * The sandbox's face: what the layer (sandbox mode) and the tests use. Everything else is the
 * rooms' own business.
 */
export type { SandboxAgent } from './agents/demo.js';
export type { LiveCallOutcome } from './calls/live.js';
export type { SandboxCall, TranscriptTurn } from './calls/model.js';
export { createDemoContacts, DEFAULT_CONTACT_COUNT, SAMPLE_CONTACT_ID, TRICKY_EXTERNAL_IDS } from './contacts/demo.js';
export {
  PROPERTY_DEFINITIONS,
  type PropertyDataType,
  type SandboxContact,
  type SandboxProperty,
  type SandboxPropertyDefinition,
  type SandboxPropertyOption,
} from './contacts/model.js';
export { ACCOUNT_TIMEZONE, ADD_CONTACTS_BATCH_LIMIT, BATCH_LIMIT } from './contacts/routes.js';
export { createSandboxCore, type SandboxCore, type SandboxOptions, type SandboxStats } from './core.js';
export type { DialerOptions, SandboxWebhookType } from './dialer/live.js';
export { DIALER_BATCH_LIMIT, SCHEDULE_DELAY_MS } from './dialer/routes.js';
export {
  createWebhookSecret,
  createWebhookSender,
  SANDBOX_RETRY_DELAYS_MS,
  type SentWebhook,
  type WebhookAttempt,
  type WebhookSender,
  type WebhookSenderOptions,
} from './dialer/webhooks.js';
export {
  startSandbox,
  type FaultRule,
  type RunningSandbox,
  type SandboxFault,
  type StartSandboxOptions,
  type TransportStats,
} from './server.js';
export type { SandboxRequest, SandboxResponse } from './wire.js';
