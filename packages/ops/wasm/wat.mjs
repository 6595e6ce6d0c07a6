// Small helpers that write WebAssembly text, shared by the kernels' sources
// (batch-matmul.wat.mjs, fused-attention.wat.mjs).

export const get = (name) => `(local.get $${name})`;
export const set = (name, value) => `(local.set $${name} ${value})`;
export const add = (a, b) => `(i32.add ${a} ${b})`;
export const sub = (a, b) => `(i32.sub ${a} ${b})`;
export const mul = (a, b) => `(i32.mul ${a} ${b})`;
export const int = (value) => `(i32.const ${value})`;
/** Bytes of `elements` float32 values. */
export const bytes = (elements) => `(i32.shl ${elements} ${int(2)})`;

let labels = 0;
/** Restarts the label numbering (each module's text is then the same on every build). */
export function resetLabels() {
  labels = 0;
}

/** `while (condition) { body }` with a fresh label. */
export function whileLoop(condition, body) {
  const id = labels++;
  return `(block $exit${id} (loop $loop${id}
  (br_if $exit${id} (i32.eqz ${condition}))
  ${body}
  (br $loop${id})))`;
}
