export * from './calls.js';
export * from './data.js';
export * from './handler.js';
export * from './server.js';
export * from './webhooks.js';
