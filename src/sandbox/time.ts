/** Units of time, in milliseconds. */
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * The moment demo data is dated from: now, to the second. Seeded contacts, agents and calls are
 * dated relative to it, so the sandbox's data looks the same age whenever it starts (a contact in
 * a call has been in it for a minute or two, not since the day the data was written).
 */
export const seedTime = (now = Date.now()) => Math.floor(now / SECOND) * SECOND;
