export * from './client.js';
export * from './coalescing.js';
export * from './errors.js';
export * from './json.js';
export * from './limiter.js';
export type { TelliContact } from './schemas.js';
