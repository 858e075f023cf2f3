export * from './tenants.js';
export * from './projects.js';
export * from './api-keys.js';
export * from './upstream-keys.js';
export * from './audit-events.js';
export * from './usage-events.js';
export * from './resources.js';
