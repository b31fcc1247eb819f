export * from './calls/demo.js';
export * from './contacts/demo.js';
export * from './core.js';
export * from './server.js';
export * from './dialer/webhooks.js';
