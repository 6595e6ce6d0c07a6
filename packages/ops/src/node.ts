// Node-only entry of @setgen/ops (worker threads for host kernels).
export {};
