import type { JsonObject, JsonValue } from '../json.js';
import { createRandom, type Random } from '../random.js';
import { DAY, HOUR, SECOND, seedTime } from '../time.js';
import {
  INTEREST_OPTIONS,
  PLAN_OPTIONS,
  PROPERTY_DEFINITIONS,
  propertyFromDefinition,
  type SandboxContact,
  type SandboxProperty,
  type SandboxPropertyDefinition,
} from './model.js';

/**
 * Deterministic demo contacts for the sandbox: the same seed always gives the same contacts, so
 * docs, tests and GraphiQL can name real ids. Covers every status, set and unset timestamps, many
 * `contact_details` shapes, and external ids with spaces, slashes and other URL-hostile characters.
 */

/** The id of the first demo contact (the sample id of telli's own docs). */
export const SAMPLE_CONTACT_ID = '3c90c3cc-0d44-4b50-8888-8dd25736052a';
export const DEFAULT_CONTACT_COUNT = 300;

/** External ids the layer must percent-encode correctly; given to the first contacts. */
export const TRICKY_EXTERNAL_IDS = [
  'crm/acme deals 42',
  'hubspot contact/7 ä',
  '100% sure?yes=1&no=0#frag',
  '  leading and trailing  ',
  'pipe|semi;colon:plus+',
];

const FIRST_NAMES = [
  'Ada',
  'Jürgen',
  'Zoë',
  'François',
  'Åsa',
  'Mateo',
  'Aiko',
  'Olusegun',
  'Анна',
  'Priya',
  'Liam',
  'Chloé',
  '美咲',
  'Noah',
  'Fatima',
  'Søren',
];
const LAST_NAMES = [
  'Lovelace',
  'Müller',
  'Øster',
  "O'Brien",
  'García',
  'Nakamura',
  'Adeyemi',
  'Иванова',
  'Sharma',
  'Schmidt',
  'Dubois',
  '山田',
  'Smith',
  'Al-Hassan',
  'Kowalski',
  'Nguyễn',
];
const SALUTATIONS = ['Mr.', 'Ms.', 'Herr', 'Frau', null];
const TIMEZONES = ['Europe/Berlin', 'Europe/London', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney', null];

function detailsFor(n: number, r: Random): JsonObject {
  // Offset so the sample contact (n = 0) shows a nested shape in GraphiQL.
  switch ((n + 2) % 9) {
    case 0:
      return {};
    case 1:
      return {
        company: r.pick(['Acme GmbH', 'Globex', 'Initech', 'Umbrella AG']),
        plan: r.pick(['starter', 'growth']),
      };
    case 2:
      return { address: { street: 'Torstraße 1', city: 'Berlin', geo: { lat: 52.5291, lng: 13.4015 } }, floor: 3 };
    case 3:
      return { tags: ['solar', 'callback', 'vip'], scores: [1, 2.5, -3, 0], empty_list: [] };
    case 4:
      return { vip: true, churned: false, notes: null, consent: { phone: true, email: false } };
    case 5:
      return {
        greeting: 'Grüß Gott 👋',
        name_ja: '山田太郎',
        rtl: 'مرحبا',
        escaped: 'quote " backslash \\ newline \n tab \t',
      };
    case 6:
      return { big: 9007199254740991, tiny: 1e-7, negative: -42, zero: 0, float: 3.14159 };
    case 7:
      return { mixed: [1, 'two', { three: 3 }, [4, [5]], null, true], nested: { a: { b: { c: { d: 'deep' } } } } };
    default:
      return { empty: {}, 'key with spaces': 'ok', 'ünïcödé-kéy': '✓' };
  }
}

const DEFINITION_BY_KEY = new Map(PROPERTY_DEFINITIONS.map((d) => [d.key, d]));

function propertiesFor(n: number, c: Omit<SandboxContact, 'properties'>, r: Random, now: number): SandboxProperty[] {
  const typed = (key: string, value: JsonValue) =>
    propertyFromDefinition(DEFINITION_BY_KEY.get(key) as SandboxPropertyDefinition, value);
  // The values are drawn in this order; keep it, or every later contact's data changes.
  const all: SandboxProperty[] = [
    typed('company', r.pick(['Acme GmbH', 'Globex', 'Initech'])),
    typed('deal_size', 1000 + r.int(90_000)),
    typed('vip', n % 2 === 0),
    typed('birthday', `19${60 + r.int(40)}-0${1 + r.int(9)}-1${r.int(10)}`),
    typed('last_contacted', new Date(now - r.int(90) * DAY).toISOString()),
    typed('plan', r.pick(PLAN_OPTIONS).value),
    typed(
      'interests',
      INTEREST_OPTIONS.filter(() => r.next() < 0.5).map((o) => o.value),
    ),
    typed('mobile', c.phoneNumber),
    typed('work_email', `${c.firstName.toLowerCase()}.${n}@example.com`),
  ];
  // Every contact gets some properties; contact n % 10 === 0 gets all nine data types.
  return n % 10 === 0 ? all : all.filter(() => r.next() < 0.4);
}

/**
 * `count` demo contacts. The same `seed` always gives the same ids, names and call history;
 * timestamps are relative to `now` (the sandbox's start): contacts were created days to weeks
 * ago, a contact in a call has been in it for a minute or two, and a scheduled call is days ahead.
 */
export function createDemoContacts(
  count = DEFAULT_CONTACT_COUNT,
  seed = 20261126,
  now: number = Date.now(),
): SandboxContact[] {
  const at = seedTime(now);
  const r = createRandom(seed);
  const contacts: SandboxContact[] = [];
  for (let n = 0; n < count; n++) {
    const id = n === 0 ? SAMPLE_CONTACT_ID : r.uuid();
    // Three days and more ago: room for the calls made before a contact was reached.
    const createdAtMs = at - 3 * DAY - ((count - n) * DAY) / 4;
    const createdAt = new Date(createdAtMs).toISOString();
    const firstName = FIRST_NAMES[n % FIRST_NAMES.length] as string;
    const lastName = LAST_NAMES[(n * 7) % LAST_NAMES.length] as string;
    // Status spread: in progress, reached, not reached (with and without a scheduled call). The
    // values are drawn in this order whatever they are used for; keep it, or every later contact
    // (its id included) changes.
    const phase = n % 4;
    const callStarted = phase === 0 ? r.int(3600) : null;
    const reachedDaysAgo = phase === 1 || (phase === 0 && n % 8 === 0) ? r.int(30) : null;
    const nextCallInDays = phase === 2 ? 1 + r.int(10) : null;
    // The sample contact, which the docs and GraphiQL open with, is reached and not in a call:
    // its newest call is the finished conversation, and a call scheduled for it is placed at once.
    const sample = n === 0;
    const inCallSince =
      callStarted === null || sample ? null : new Date(at - (10 + (callStarted % 110)) * SECOND).toISOString();
    // Not all at the time of day the sandbox started: up to six hours apart (nothing is drawn for
    // it, so nothing else changes).
    const hourShift = ((n * 1237) % (6 * 3600)) * SECOND;
    // Reached 1–30 days ago, but late enough after its creation for the (at most five, three
    // hours apart) calls that came before.
    const reachedAt =
      reachedDaysAgo === null
        ? null
        : new Date(Math.max(at - (1 + reachedDaysAgo) * DAY - hourShift, createdAtMs + 16 * HOUR)).toISOString();
    const nextCallAt = nextCallInDays === null ? null : new Date(at + nextCallInDays * DAY + hourShift).toISOString();
    const externalId =
      n < TRICKY_EXTERNAL_IDS.length ? (TRICKY_EXTERNAL_IDS[n] as string) : n % 13 === 0 ? null : `crm-${1000 + n}`;
    const updatedDaysLater = r.int(30);
    const base = {
      id,
      externalId,
      externalUrl: externalId ? `https://crm.example.com/contacts/${encodeURIComponent(externalId)}` : null,
      createdAt,
      updatedAt: new Date(Math.min(createdAtMs + updatedDaysLater * DAY, at)).toISOString(),
      firstName,
      lastName,
      phoneNumber: `+49${1500000000 + r.int(99999999)}`,
      email: n % 6 === 5 ? null : `${n}.contact@example.com`,
      timezone: r.pick(TIMEZONES),
      salutation: r.pick(SALUTATIONS),
      inCallSince,
      reachedAt,
      nextCallAt,
      // A contact reached earlier and in a call now has made at least two calls: the completed one
      // at `reachedAt` and the ongoing one (the seeded calls are derived from this state). The
      // sample contact was drawn as such a contact; without its ongoing call it has one call less.
      callAttempts:
        phase === 3 ? 0 : Math.max(1 + r.int(6), callStarted !== null && reachedAt ? 2 : 1) - (sample ? 1 : 0),
      contactDetails: detailsFor(n, r),
    };
    contacts.push({ ...base, properties: propertiesFor(n, base, r, at) });
  }
  return contacts;
}
