// Small helpers that write WebAssembly text, shared by the kernels' sources
// (every wasm/*.wat.mjs).

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

/**
 * 2^f ≈ 1 + f·(c1 + f·(c2 + …)) on [−½, ½]: coefficients c1…c5 fitted to the relative error
 * (≈ 1e-7; 2^0 = 1 exactly).
 */
const EXP2 = [0.693147004, 0.240222424, 0.0555073395, 0.00967151113, 0.00132647087];
/** 1.5·2^23: adding it rounds a float of magnitude < 2^22 to an integer, held in the low bits. */
const ROUNDER = 12582912;

const splat = (value) => `(v128.const f32x4 ${value} ${value} ${value} ${value})`;

/**
 * `target = 2^x` on four lanes, x ≤ 0 (temporaries $ex{s}, $en{s}, $ep{s}, v128): n = round(x),
 * f = x − n ∈ [−½, ½], 2^x = P(f)·2^n, 2^n written into the exponent bits. x is clamped at
 * −126 (2^n stays a normal number); pmax keeps a NaN of x. `madd(a, b, c)` writes a·b + c
 * (a fused relaxed_madd, or a multiply and an add).
 */
export function exp2Vector(target, x, s, madd) {
  const [ex, en, ep] = [`ex${s}`, `en${s}`, `ep${s}`];
  const one = `(v128.const i32x4 ${127 << 23} ${127 << 23} ${127 << 23} ${127 << 23})`;
  return [
    set(ex, `(f32x4.pmax ${x} ${splat(-126)})`),
    set(en, `(f32x4.add ${get(ex)} ${splat(ROUNDER)})`),
    set(ex, `(f32x4.sub ${get(ex)} (f32x4.sub ${get(en)} ${splat(ROUNDER)}))`),
    set(ep, splat(EXP2[EXP2.length - 1])),
    ...EXP2.slice(0, -1)
      .reverse()
      .map((c) => set(ep, madd(get(ep), get(ex), splat(c)))),
    set(ep, madd(get(ep), get(ex), splat(1))),
    set(target, `(f32x4.mul ${get(ep)} (i32x4.add (i32x4.shl ${get(en)} ${int(23)}) ${one}))`),
  ].join('\n');
}

/**
 * `vector` over the byte offsets $o in steps of 16 while o + 16 ≤ $limit, then `scalar` in
 * steps of 4 while o < $limit (a row or array of floats: four at a time, then the tail).
 */
export function overBytes(limit, vector, scalar) {
  return [
    set('o', int(0)),
    whileLoop(
      `(i32.le_s ${add(get('o'), int(16))} ${get(limit)})`,
      `${vector}\n${set('o', add(get('o'), int(16)))}`,
    ),
    whileLoop(`(i32.lt_s ${get('o')} ${get(limit)})`, `${scalar}\n${set('o', add(get('o'), int(4)))}`),
  ].join('\n');
}
