// Node-only entry of @setgen/ops (worker threads for host kernels).
export * from './node/worker-threads.js';
