export * from './chamfer-kernel.js';
export * from './compute-all-metrics.js';
export * from './distance-matrices.js';
export * from './matrix-metrics.js';
export * from './point-clouds.js';
export * from './jsd.js';
export * from './set-prediction-ap.js';
export * from './molecule-metrics.js';
