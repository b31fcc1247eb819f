import type { JsonObject, JsonValue } from '../json.js';

/** A contact as the sandbox stores it, and the typed properties an account defines for contacts. */

export type PropertyDataType =
  'string' | 'number' | 'boolean' | 'date' | 'datetime' | 'select' | 'multi_select' | 'phone_number' | 'email';

export interface SandboxProperty {
  key: string;
  label: string;
  dataType: PropertyDataType;
  value: JsonValue;
  options?: SandboxPropertyOption[];
}

export interface SandboxContact {
  id: string;
  externalId: string | null;
  externalUrl: string | null;
  createdAt: string;
  updatedAt: string;
  firstName: string;
  lastName: string;
  phoneNumber: string;
  email: string | null;
  timezone: string | null;
  salutation: string | null;
  inCallSince: string | null;
  reachedAt: string | null;
  nextCallAt: string | null;
  callAttempts: number;
  contactDetails: JsonObject;
  properties: SandboxProperty[];
}

export interface SandboxPropertyOption {
  value: string;
  label: string;
  description: string;
}

/** An account's definition of a typed contact property (§6): what `POST /v2/contacts` may set. */
export interface SandboxPropertyDefinition {
  key: string;
  label: string;
  dataType: PropertyDataType;
  /** Only for `select` / `multi_select`: the allowed values. */
  options?: SandboxPropertyOption[];
}

export const PLAN_OPTIONS: SandboxPropertyOption[] = [
  { value: 'starter', label: 'Starter', description: 'Up to 1,000 calls a month' },
  { value: 'growth', label: 'Growth', description: 'Up to 10,000 calls a month' },
  { value: 'enterprise', label: 'Enterprise', description: 'Custom volume' },
];
export const INTEREST_OPTIONS: SandboxPropertyOption[] = [
  { value: 'solar', label: 'Solar', description: 'Rooftop solar' },
  { value: 'heat_pump', label: 'Heat pump', description: 'Air-source heat pumps' },
  { value: 'ev_charger', label: 'EV charger', description: 'Home wallbox' },
];

/**
 * The property definitions every sandbox account has: one per data type, and exactly the keys the
 * seeded contacts carry. v2 writes may set only these keys (telli validates against the account's
 * definitions), and a written value is typed from its definition.
 */
export const PROPERTY_DEFINITIONS: readonly SandboxPropertyDefinition[] = [
  { key: 'company', label: 'Company', dataType: 'string' },
  { key: 'deal_size', label: 'Deal size (EUR)', dataType: 'number' },
  { key: 'vip', label: 'VIP', dataType: 'boolean' },
  { key: 'birthday', label: 'Birthday', dataType: 'date' },
  { key: 'last_contacted', label: 'Last contacted', dataType: 'datetime' },
  { key: 'plan', label: 'Plan', dataType: 'select', options: PLAN_OPTIONS },
  { key: 'interests', label: 'Interests', dataType: 'multi_select', options: INTEREST_OPTIONS },
  { key: 'mobile', label: 'Mobile', dataType: 'phone_number' },
  { key: 'work_email', label: 'Work email', dataType: 'email' },
];

/** A contact's property with the given value, labelled and typed by the account's definition. */
export function propertyFromDefinition(definition: SandboxPropertyDefinition, value: JsonValue): SandboxProperty {
  const { key, label, dataType, options } = definition;
  return options ? { key, label, dataType, value, options } : { key, label, dataType, value };
}
