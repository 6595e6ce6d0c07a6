export * from './backends.js';
export * from './chromium.js';
export * from './expect.js';
export * from './fixtures.js';
export * from './models.js';
export * from './sets.js';
