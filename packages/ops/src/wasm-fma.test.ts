import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, expect, it, vi } from 'vitest';
import wabtInit from 'wabt';
import { matmulKernelVariant } from './batch-matmul-kernel.js';
import { ConfigError } from './errors.js';
import {
  RELAXED_SIMD_PROBE,
  relaxedSimdAvailable,
  setWasmFma,
  wasmFmaEnabled,
  wasmFmaForTests,
} from './wasm-fma.js';

const PROBE_TEXT =
  '(module (func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))';

/** Whether this process runs a Node whose V8 validates relaxed SIMD only behind a flag, without it. */
const plainNode20 =
  Number(process.versions.node.split('.')[0]) === 20 &&
  !process.execArgv.includes('--experimental-wasm-relaxed-simd') &&
  !(process.env.NODE_OPTIONS ?? '').includes('--experimental-wasm-relaxed-simd');

afterEach(() => {
  wasmFmaForTests.reset();
  vi.unstubAllEnvs();
});

it('the probe is the relaxed_madd module wabt assembles', async () => {
  const wabt = await wabtInit();
  const features = { simd: true, relaxed_simd: true };
  const module = wabt.parseWat('probe.wat', PROBE_TEXT, features);
  module.validate();
  expect(Array.from(RELAXED_SIMD_PROBE)).toEqual(Array.from(module.toBinary({}).buffer));
  module.destroy();
});

it('plain Node 20 does not validate relaxed SIMD and keeps the plain SIMD kernel (FMA where it validates)', async () => {
  await tf.setBackend('cpu');
  if (plainNode20) expect(relaxedSimdAvailable()).toBe(false);
  expect(matmulKernelVariant()).toBe(relaxedSimdAvailable() ? 'fma' : 'simd');
  setWasmFma(false);
  expect(matmulKernelVariant()).toBe('simd');
});

it('setWasmFma(true) and SETGEN_WASM_FMA=1 require relaxed SIMD; bad values are ConfigErrors', () => {
  /** The choice with SETGEN_WASM_FMA = `value` (the variable is read once, at the first kernel call). */
  const withEnvironment = (value: string) => {
    vi.stubEnv('SETGEN_WASM_FMA', value);
    wasmFmaForTests.reset();
    return wasmFmaEnabled();
  };
  if (!relaxedSimdAvailable()) {
    expect(() => setWasmFma(true)).toThrow(ConfigError);
    expect(() => setWasmFma(true)).toThrow(/experimental-wasm-relaxed-simd/);
    expect(() => withEnvironment('1')).toThrow(/SETGEN_WASM_FMA=1/);
  } else {
    setWasmFma(true);
    expect(wasmFmaEnabled()).toBe(true);
    expect(withEnvironment('1')).toBe(true);
  }
  expect(withEnvironment('0')).toBe(false);
  expect(withEnvironment('auto')).toBe(relaxedSimdAvailable());
  expect(withEnvironment('')).toBe(relaxedSimdAvailable());
  expect(() => withEnvironment('yes')).toThrow(ConfigError);
  // setWasmFma wins over the environment
  vi.stubEnv('SETGEN_WASM_FMA', '1');
  setWasmFma(false);
  expect(wasmFmaEnabled()).toBe(false);
  expect(() => setWasmFma('on' as never)).toThrow(ConfigError);
});
