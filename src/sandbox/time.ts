/** Units of time, in milliseconds. */
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The "now" of the seeded demo data: contacts, agents and calls are dated relative to it. */
export const EPOCH = Date.UTC(2026, 0, 1);
