export * from './backends.js';
export * from './expect.js';
export * from './fixtures.js';
export * from './models.js';
export * from './random.js';
export * from './sets.js';
