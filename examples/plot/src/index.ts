export * from './canvas.js';
export * from './colormap.js';
export * from './panels.js';
export * from './text.js';
