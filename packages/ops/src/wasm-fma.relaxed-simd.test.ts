// wasm-fma.test.ts again in the vitest project `relaxed-simd` (workers that validate relaxed
// SIMD): there `setWasmFma(true)` and `SETGEN_WASM_FMA=1` are accepted and 'auto' means FMA.
import { expect, it } from 'vitest';
import { matmulKernelVariant } from './batch-matmul-kernel.js';
import { relaxedSimdAvailable } from './wasm-fma.js';
import './wasm-fma.test.js';

it('relaxed SIMD validates here, and the matrix product kernel is the FMA build by default', () => {
  expect(relaxedSimdAvailable()).toBe(true);
  expect(matmulKernelVariant()).toBe('fma');
});
