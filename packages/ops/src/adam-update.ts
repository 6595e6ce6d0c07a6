// Adam's element-wise update of every variable of a step as ONE kernel on the wasm and cpu
// backends, whose tensor memory we can read: per variable (value, gradient, m, v) →
// (value', m', v'). The loop is wasm/adam.wat.mjs (SIMD, in place on tfjs-wasm's heap, copied
// into its own memory on cpu); where that module is unavailable (no WebAssembly SIMD, or still
// compiling in a browser) the same loop in JavaScript. Both round to float32 exactly where
// tfjs's AdamOptimizer rounds, one op at a time, so the results are bit-identical to it: for
// +, −, ×, ÷ and √ the exact result rounded to float32 is the float32 result.
// Elsewhere (webgl, webgpu, tfjs-node) callers keep tensor ops.
import {
  engine,
  getBackend,
  getKernel,
  type KernelBackend,
  type KernelFunc,
  registerKernel,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { ADAM_IN_PLACE_WASM, ADAM_WASM } from './adam-wasm.js';
import { type TensorMemory, tensorMemory } from './backend-memory.js';
import { ShapeError } from './errors.js';
import { runOnTensors, WasmKernel } from './wasm-kernel.js';

const KERNEL_NAME = 'SetgenAdamUpdate';

/** Adam's constants for one step; `accBeta1`, `accBeta2` = β₁ᵗ, β₂ᵗ as the optimizer holds them (float32). */
export interface AdamStepConstants {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  accBeta1: number;
  accBeta2: number;
  /** The gradient is first multiplied by this (float32, as `tf.mul(g, scale)` would): gradient clipping. Default 1. */
  gradientScale?: number;
}

/** One variable's operands: float32 tensors of one shape. */
export interface AdamOperands {
  value: Tensor;
  gradient: Tensor;
  m: Tensor;
  v: Tensor;
}

interface AdamExports {
  memory: WebAssembly.Memory;
  update(
    x: number,
    g: number,
    m: number,
    v: number,
    xOut: number,
    mOut: number,
    vOut: number,
    size: number,
    ...constants: number[]
  ): void;
}

const kernel = new WasmKernel<AdamExports>(ADAM_WASM, ADAM_IN_PLACE_WASM);

/** The nine float32 constants of the kernel, in its parameter order, as tfjs's scalar tensors hold them. */
function kernelConstants(c: AdamStepConstants): number[] {
  const f = Math.fround;
  return [
    f(c.beta1),
    f(c.beta2),
    f(1 - c.beta1),
    f(1 - c.beta2),
    f(1 - f(c.accBeta1)), // 1 − β₁ᵗ
    f(1 - f(c.accBeta2)),
    f(c.epsilon),
    f(-c.learningRate),
    f(c.gradientScale ?? 1),
  ];
}

/**
 * The same loop in JavaScript (no SIMD module): every operation rounded to float32 by Math.fround.
 * `[x, g, m, v]` → `[x', m', v']`; `constants` as `kernelConstants` gives them. Exported for tests.
 */
export function adamUpdateInJs(
  [x, g, m0, v0]: Float32Array[],
  [xOut, mOut, vOut]: Float32Array[],
  [b1, b2, oneMinusB1, oneMinusB2, bias1, bias2, epsilon, step, scale]: number[],
): void {
  const f = Math.fround;
  for (let i = 0; i < x.length; i++) {
    const gi = f(g[i] * scale); // tf.mul(g, scale); g·1 = g exactly
    const mi = f(f(m0[i] * b1) + f(gi * oneMinusB1)); // m = β₁m + (1 − β₁)g
    const vi = f(f(v0[i] * b2) + f(f(gi * gi) * oneMinusB2)); // v = β₂v + (1 − β₂)g²
    mOut[i] = mi;
    vOut[i] = vi;
    xOut[i] = f(f(f(f(mi / bias1) / f(f(Math.sqrt(f(vi / bias2))) + epsilon)) * step) + x[i]);
  }
}

function register(backendName: string, memory: TensorMemory): void {
  const kernelFunc: KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
    const backend = anyBackend as KernelBackend;
    const count = (attrs as { count: number }).count;
    const constants = kernelConstants(attrs as unknown as AdamStepConstants);
    const operands = Array.from({ length: count }, (_, i) =>
      ['value', 'gradient', 'm', 'v'].map((name) => inputs[`${name}${i}`] as TensorInfo),
    );
    if (kernel.own()) {
      return operands.flatMap(([value, ...rest]) => {
        const shape = [...value.shape];
        const size = shape.reduce((a, b) => a * b, 1);
        return runOnTensors(
          kernel,
          memory,
          backend,
          [value, ...rest],
          [shape, shape, shape],
          (k, [x, g, m, v], [xOut, mOut, vOut]) => k.update(x, g, m, v, xOut, mOut, vOut, size, ...constants),
        );
      });
    }
    // no SIMD module: the same loop in JavaScript
    return operands.flatMap(([value, ...rest]) => {
      const results = [0, 1, 2].map(() => new Float32Array(value.shape.reduce((a, b) => a * b, 1)));
      adamUpdateInJs(
        [value, ...rest].map((t) => memory.read(backend, t).slice()), // copies: no view outlives an allocation
        results,
        constants,
      );
      return results.map((values) => memory.write(backend, [...value.shape], (out) => out.set(values)));
    });
  };
  registerKernel({ kernelName: KERNEL_NAME, backendName, kernelFunc });
}

/** Whether `adamUpdates` runs on the active backend (wasm or cpu). */
export function adamUpdateAvailable(): boolean {
  return tensorMemory(getBackend()) !== null;
}

/**
 * `[value', m', v']` per variable of one Adam step, all variables in one kernel (only where
 * `adamUpdateAvailable()`): float32 operands, the four of a variable of one shape.
 */
export function adamUpdates(variables: AdamOperands[], constants: AdamStepConstants): Tensor[][] {
  const backendName = getBackend();
  const memory = tensorMemory(backendName);
  if (!memory) throw new Error(`adamUpdates: backend '${backendName}' has no readable tensor memory`);
  const inputs: Record<string, Tensor> = {};
  const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, k) => d === b[k]);
  variables.forEach((operands, i) => {
    for (const name of ['value', 'gradient', 'm', 'v'] as const) {
      const t = operands[name];
      if (t.dtype !== 'float32' || !sameShape(t.shape, operands.value.shape))
        throw new ShapeError(
          `adamUpdates: variables[${i}].${name} must be a float32 tensor of the value's shape [${operands.value.shape}], got ${t.dtype} [${t.shape}]`,
        );
      inputs[`${name}${i}`] = t;
    }
  });
  if (variables.length === 0) return [];
  if (!getKernel(KERNEL_NAME, backendName)) register(backendName, memory);
  const outputs = engine().runKernel(KERNEL_NAME, inputs, {
    ...constants,
    count: variables.length,
  }) as unknown as Tensor[];
  return variables.map((_, i) => outputs.slice(3 * i, 3 * i + 3));
}
