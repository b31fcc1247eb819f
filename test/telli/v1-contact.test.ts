import { describe, expect, it } from 'vitest';
import { parseV1Contact, v1ContactSchema } from '../../src/telli/contacts/schemas.js';

/*
 * The batch read checks each contact by hand (`parseV1Contact`) instead of through zod, for speed;
 * `v1ContactSchema` stays the statement of the contract (the external-id read uses it). Here the two
 * must agree on every input: the same contact when it is valid, a failure naming the same fields
 * when it is not.
 */
const full = {
  contact_id: 'c-1',
  external_contact_id: 'crm-1',
  external_url: 'https://crm.example/1',
  created_at: '2026-01-01T00:00:00Z',
  first_name: 'Ada',
  last_name: 'Lovelace',
  phone_number: '+49301234567',
  email: 'ada@example.com',
  timezone: 'Europe/Berlin',
  salutation: 'Dr.',
  status: 'reached',
  in_call_since: null,
  reached_at: '2026-01-02T00:00:00Z',
  next_call_at: null,
  call_attempts: 3,
  contact_details: { tags: ['a', 1, true, null, { deep: [2.5] }], __proto__x: 1 },
};

const cases: [string, unknown][] = [
  ['a full contact', full],
  ['only the id', { contact_id: 'c-2' }],
  ['nulls everywhere', Object.fromEntries(Object.keys(full).map((k) => [k, k === 'contact_id' ? 'c-3' : null]))],
  ['unknown fields', { contact_id: 'c-4', favourite_colour: 'blue', nested: { a: 1 } }],
  [
    'an own __proto__ key in contact_details',
    { contact_id: 'c-5', contact_details: JSON.parse('{"__proto__":{"x":1}}') },
  ],
  ['no id', { first_name: 'Ada' }],
  ['an empty id', { contact_id: '' }],
  ['a numeric id', { contact_id: 7 }],
  ['a number as a name', { contact_id: 'c-6', first_name: 42 }],
  ['an array as a date', { contact_id: 'c-7', next_call_at: ['2026'] }],
  ['a boolean status', { contact_id: 'c-8', status: false }],
  ['fractional call_attempts', { contact_id: 'c-9', call_attempts: 2.5 }],
  ['a string for call_attempts', { contact_id: 'c-10', call_attempts: '3' }],
  ['contact_details an array', { contact_id: 'c-11', contact_details: [1, 2] }],
  ['contact_details a string', { contact_id: 'c-12', contact_details: 'notes' }],
  ['contact_details with a non-finite number', { contact_id: 'c-13', contact_details: { a: { b: [Infinity] } } }],
  ['contact_details with a date object', { contact_id: 'c-14', contact_details: { at: new Date(0) } }],
  ['two broken fields', { contact_id: 'c-15', email: 1, call_attempts: 'x' }],
  ['null', null],
  ['an array', [full]],
  ['a string', 'c-16'],
];

describe('parseV1Contact agrees with v1ContactSchema', () => {
  it.each(cases)('%s', (_name, input) => {
    const byHand = parseV1Contact(input);
    const byZod = v1ContactSchema.safeParse(input);
    expect(byHand.ok).toBe(byZod.success);
    if (byHand.ok && byZod.success) {
      expect(byHand.contact).toEqual(byZod.data);
    } else if (!byHand.ok && !byZod.success) {
      // The same fields are named (paths, not zod's wording); never a value from the payload.
      const fieldsByHand = byHand.issues.map((issue) => issue.split(': ')[0]).sort();
      const fieldsByZod = byZod.error.issues.map((issue) => issue.path.join('.') || '(root)').sort();
      expect(fieldsByHand).toEqual(fieldsByZod);
      expect(byHand.issues.join(' ')).not.toMatch(/Ada|notes|blue/);
    }
  });

  it('keeps contact_details as the very object telli sent (no copy)', () => {
    const details = { a: 1 };
    const result = parseV1Contact({ contact_id: 'c-1', contact_details: details });
    expect(result.ok && result.contact.contactDetails).toBe(details);
  });
});
