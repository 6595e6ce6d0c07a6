export * from './checkpoint.js';
export * from './scheduled-adam.js';
export * from './schedules.js';
export * from './setvae.js';
export * from './setvae-config.js';
export * from './training.js';
