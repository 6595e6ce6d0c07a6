// Figures for the examples as Vega-Lite specs: pure builders (browser-safe) and Vega rendering to
// SVG. Node-only PNG/file output lives in '@setgen/example-plot/node'.
export * from './attention.js';
export * from './compose.js';
export * from './curves.js';
export * from './format.js';
export * from './histogram.js';
export * from './inspect.js';
export * from './point-sets.js';
export * from './points.js';
export * from './render.js';
export * from './smoothing.js';
export * from './theme.js';
