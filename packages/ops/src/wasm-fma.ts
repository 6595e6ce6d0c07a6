// Whether our WebAssembly kernels multiply-add with one fused instruction (relaxed SIMD's
// `f32x4.relaxed_madd`) or with a multiply and an add (plain 128-bit SIMD).
//
// Relaxed SIMD is validated by Node ≥ 22 (V8 ≥ 11.4), Chrome/Edge ≥ 114 and Firefox ≥ 120 by
// default; Node 20 (V8 11.3) only when started as `node --experimental-wasm-relaxed-simd` (Node
// refuses that flag in `NODE_OPTIONS`). The choice is made once per setting by
// validating a 37-byte probe module: V8's flags are process-wide, so worker threads of the same
// process validate the same modules (and are given the calling thread's builds anyway).
// `SETGEN_WASM_FMA=0|1` or `setWasmFma(false|true)` overrides it; library code never sets
// V8 flags itself.
import { ConfigError } from './errors.js';

/**
 * `(module (func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0)
 * (local.get 1) (local.get 2))))`, assembled by wabt (checked in wasm-fma.test.ts).
 */
export const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02,
  0x0b,
]);

let relaxedSimd: boolean | undefined;

/** Whether this runtime validates WebAssembly relaxed SIMD (cached: a runtime's answer does not change). */
export function relaxedSimdAvailable(): boolean {
  if (relaxedSimd === undefined) {
    try {
      relaxedSimd = typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
    } catch {
      relaxedSimd = false;
    }
  }
  return relaxedSimd;
}

/** The FMA setting: `'auto'` (FMA where the runtime validates relaxed SIMD), on or off. */
export type WasmFmaMode = boolean | 'auto';

/** Set by `setWasmFma`; undefined: `SETGEN_WASM_FMA`, else `'auto'`. */
let requested: WasmFmaMode | undefined;

/** `SETGEN_WASM_FMA` (`0`, `1`, `auto` or unset/empty: `'auto'`); another value is a ConfigError. */
function fmaFromEnvironment(): WasmFmaMode {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.SETGEN_WASM_FMA;
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === '0' || value === '1') return value === '1';
  throw new ConfigError(`SETGEN_WASM_FMA: expected 0, 1 or auto, got '${value}'`);
}

const UNAVAILABLE =
  'this runtime does not validate WebAssembly relaxed SIMD (Node 20: start node with ' +
  '--experimental-wasm-relaxed-simd; Node >= 22 and Chrome >= 114 have it)';

/**
 * Sets whether the SIMD kernels (matrix products) use fused multiply-adds: `true` requires
 * relaxed SIMD (a ConfigError where the runtime does not validate it), `false` keeps the plain
 * SIMD kernel, `'auto'` (the default, or `SETGEN_WASM_FMA`) takes FMA where it validates.
 * FMA rounds each multiply-add once: products differ from the plain kernel's (and tf.matMul's)
 * at float32 rounding, in the same summation order. Applies to the next kernel call.
 */
export function setWasmFma(mode: WasmFmaMode): void {
  if (mode !== 'auto' && typeof mode !== 'boolean') {
    throw new ConfigError(`mode: expected true, false or 'auto', got ${String(mode)}`);
  }
  if (mode === true && !relaxedSimdAvailable()) throw new ConfigError(`setWasmFma(true): ${UNAVAILABLE}`);
  requested = mode;
  enabled = undefined;
}

/** The resolved choice, until `setWasmFma` (every kernel call asks: the environment is read once). */
let enabled: boolean | undefined;

/**
 * Whether the kernels use FMA now: `setWasmFma`'s setting, else `SETGEN_WASM_FMA` (read at the
 * first kernel call), else whether relaxed SIMD validates.
 */
export function wasmFmaEnabled(): boolean {
  if (enabled !== undefined) return enabled;
  const mode = requested ?? fmaFromEnvironment();
  if (mode === true && !relaxedSimdAvailable()) throw new ConfigError(`SETGEN_WASM_FMA=1: ${UNAVAILABLE}`);
  enabled = mode === 'auto' ? relaxedSimdAvailable() : mode;
  return enabled;
}

/** Test hook: forgets `setWasmFma` (SETGEN_WASM_FMA, else `'auto'`, decides again). */
export const wasmFmaForTests = {
  reset(): void {
    requested = undefined;
    enabled = undefined;
  },
};
