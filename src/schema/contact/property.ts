import type { JsonValue, PropertyDataType, TelliContactProperty, TelliPropertyOption } from '../../telli/index.js';
import { builder } from '../core/builder.js';
import { upstreamInvalid } from '../core/errors.js';
import { checkedUpstreamValue } from '../core/scalars.js';

/*
 * How a client reads a typed value: `value` is the value as telli sent it (lossless JSON, always
 * there), and one typed accessor per data-type family (`stringValue`, `numberValue`, …) returns it
 * as a proper GraphQL type when the property is of that family, null otherwise. A union per data
 * type was the alternative; it was not chosen because
 *  - a list of properties would need nine inline fragments just to show key and value;
 *  - a data type telli adds later would need a new union member, which is a breaking change for
 *    clients that switch exhaustively on __typename — here it is `UNKNOWN` with `value` intact;
 *  - telli documents neither the JSON encoding per type nor that `value` matches `dataType`, so
 *    the raw value must stay reachable anyway.
 */

const DATA_TYPES = {
  STRING: { description: 'Text. Read `stringValue`.' },
  NUMBER: { description: 'A number. Read `numberValue`.' },
  BOOLEAN: { description: 'True or false. Read `booleanValue`.' },
  DATE: { description: 'A calendar date without time. Read `dateValue` (`YYYY-MM-DD`).' },
  DATETIME: { description: 'A point in time. Read `dateTimeValue`.' },
  SELECT: { description: 'One choice out of `options`. Read `selectedValues` (at most one item).' },
  MULTI_SELECT: { description: 'Any number of choices out of `options`. Read `selectedValues`.' },
  PHONE_NUMBER: { description: 'A phone number. Read `stringValue`.' },
  EMAIL: { description: 'An email address. Read `stringValue`.' },
  UNKNOWN: {
    description:
      "A data type this API does not know (telli added one), or none was sent. `rawDataType` holds telli's value; `value` is intact; every typed accessor is null.",
  },
} as const;
type DataTypeName = keyof typeof DATA_TYPES;

const NAME_OF: Record<PropertyDataType, DataTypeName> = {
  string: 'STRING',
  number: 'NUMBER',
  boolean: 'BOOLEAN',
  date: 'DATE',
  datetime: 'DATETIME',
  select: 'SELECT',
  multi_select: 'MULTI_SELECT',
  phone_number: 'PHONE_NUMBER',
  email: 'EMAIL',
};

/** The enum value for telli's raw `dataType`; anything unknown (or absent) is UNKNOWN, never an error. */
export function dataTypeOf(raw: string | null): DataTypeName {
  return raw !== null && Object.hasOwn(NAME_OF, raw) ? NAME_OF[raw as PropertyDataType] : 'UNKNOWN';
}

export const ContactPropertyDataType = builder.enumType('ContactPropertyDataType', {
  description:
    'The data type of a contact property, as defined in telli (Settings → Properties). Open-ended: a value telli adds later arrives as UNKNOWN rather than failing the contact — handle UNKNOWN in clients.',
  values: DATA_TYPES,
});

const ContactPropertyOptionRef = builder.objectRef<TelliPropertyOption>('ContactPropertyOption');
ContactPropertyOptionRef.implement({
  description: 'One choice of a SELECT or MULTI_SELECT property.',
  fields: (t) => ({
    value: t.exposeString('value', {
      nullable: false,
      description: 'The stored value; what `selectedValues` contains.',
    }),
    label: t.exposeString('label', { nullable: true, description: 'Human-readable label.' }),
    description: t.exposeString('description', { nullable: true, description: 'Longer explanation of the choice.' }),
  }),
});

/**
 * The property's value when it belongs to one of `types`: null when it does not or is unset, and
 * an UPSTREAM_INVALID_RESPONSE on this field alone when telli's value does not fit its own type.
 */
function valueAs<T>(
  property: TelliContactProperty,
  types: readonly DataTypeName[],
  convert: (value: NonNullable<JsonValue>) => T | undefined,
): T | null {
  const type = dataTypeOf(property.dataType);
  if (!types.includes(type) || property.value === null) return null;
  const converted = convert(property.value);
  if (converted === undefined) throw upstreamInvalid(`telli sent a value that is not a valid ${type} property value.`);
  return converted;
}

const asString = (value: JsonValue) => (typeof value === 'string' ? value : undefined);
// telli does not document whether a select stores a string or a one-item array: accept both.
const asStrings = (value: JsonValue) =>
  typeof value === 'string'
    ? [value]
    : Array.isArray(value) && value.every((v) => typeof v === 'string')
      ? value
      : undefined;

export const ContactPropertyRef = builder.objectRef<TelliContactProperty>('ContactProperty');
ContactPropertyRef.implement({
  description:
    'A typed custom field of a contact (telli v2 `properties`). `value` is the value exactly as telli stores it; the typed accessors (`stringValue`, `numberValue`, `booleanValue`, `dateValue`, `dateTimeValue`, `selectedValues`) return it as a GraphQL type when the property is of their data type and null otherwise.',
  fields: (t) => ({
    key: t.exposeString('key', {
      nullable: false,
      description: 'The property key, unique per telli account (e.g. `deal_size`).',
    }),
    label: t.exposeString('label', { nullable: true, description: 'Human-readable name of the property.' }),
    dataType: t.field({
      type: ContactPropertyDataType,
      nullable: false,
      description:
        "The property's data type. UNKNOWN when telli sends a type this API does not know, or none (see `rawDataType`); such a property never fails the contact and is logged as a warning.",
      resolve: (property, _args, ctx) => {
        const type = dataTypeOf(property.dataType);
        if (type === 'UNKNOWN' && property.dataType !== null) {
          ctx.logger.warn(
            { propertyKey: property.key, telliDataType: property.dataType },
            'unknown telli property dataType',
          );
        }
        return type;
      },
    }),
    rawDataType: t.exposeString('dataType', {
      nullable: true,
      description: "telli's `dataType` verbatim, e.g. `multi_select`; null when telli sent none.",
    }),
    value: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'The value exactly as telli sends it (any JSON: string, number, boolean, array of strings for MULTI_SELECT, …); null when the property is unset. telli does not document the encoding per data type; prefer the typed accessors.',
      resolve: (property) => property.value,
    }),
    options: t.expose('options', {
      type: [ContactPropertyOptionRef],
      nullable: false,
      description: 'The choices of a SELECT or MULTI_SELECT property; empty for other data types.',
    }),
    stringValue: t.string({
      nullable: true,
      description:
        'The value of a STRING, PHONE_NUMBER or EMAIL property (as stored, not re-validated); null otherwise.',
      resolve: (property) => valueAs(property, ['STRING', 'PHONE_NUMBER', 'EMAIL'], asString),
    }),
    numberValue: t.float({
      nullable: true,
      description: 'The value of a NUMBER property; null otherwise.',
      resolve: (property) => valueAs(property, ['NUMBER'], (v) => (typeof v === 'number' ? v : undefined)),
    }),
    booleanValue: t.boolean({
      nullable: true,
      description: 'The value of a BOOLEAN property; null otherwise.',
      resolve: (property) => valueAs(property, ['BOOLEAN'], (v) => (typeof v === 'boolean' ? v : undefined)),
    }),
    dateValue: t.field({
      type: 'LocalDate',
      nullable: true,
      description: 'The value of a DATE property (`YYYY-MM-DD`); null otherwise.',
      resolve: (property) => checkedUpstreamValue('LocalDate', valueAs(property, ['DATE'], asString)),
    }),
    dateTimeValue: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The value of a DATETIME property; null otherwise.',
      resolve: (property) => checkedUpstreamValue('DateTime', valueAs(property, ['DATETIME'], asString)),
    }),
    selectedValues: t.stringList({
      nullable: true,
      description:
        'The chosen option values of a SELECT (at most one) or MULTI_SELECT property — see `options` for their labels; null otherwise.',
      resolve: (property) => valueAs(property, ['SELECT', 'MULTI_SELECT'], asStrings),
    }),
  }),
});
