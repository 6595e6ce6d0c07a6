// Adam's element-wise update of one variable as ONE kernel on the wasm and cpu backends,
// whose tensor memory we can read: (value, gradient, m, v) → (value', m', v') in a loop.
// Each step of the loop rounds to float32 exactly where tfjs's AdamOptimizer (and the flat
// update in scheduled-adam.ts) rounds, one op at a time, so the results are bit-identical:
// for +, −, ×, ÷ and √ the float64 result rounded to float32 is the float32 result.
// Elsewhere (webgl, webgpu, tfjs-node) the optimizer keeps its tensor-op update.
import { tensorMemory } from '@setgen/ops/internal';
import {
  engine,
  getBackend,
  getKernel,
  type KernelBackend,
  registerKernel,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

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

/** Room for the three results of the largest variable so far (reused: no garbage per step). */
let scratch = new Float32Array(0);

function register(backendName: string): void {
  const memory = tensorMemory(backendName)!;
  registerKernel({
    kernelName: KERNEL_NAME,
    backendName,
    kernelFunc: ({ inputs, backend: anyBackend, attrs }) => {
      const backend = anyBackend as KernelBackend;
      const { value, gradient, m, v } = inputs as Record<string, TensorInfo>;
      const c = attrs as unknown as AdamStepConstants;
      const f = Math.fround;
      // the scalars as tfjs makes them: float32 tensors of the JavaScript numbers
      const [b1, b2, oneMinusB1, oneMinusB2] = [c.beta1, c.beta2, 1 - c.beta1, 1 - c.beta2].map(f);
      const [bias1, bias2] = [f(1 - f(c.accBeta1)), f(1 - f(c.accBeta2))];
      const [epsilon, step] = [f(c.epsilon), f(-c.learningRate)];
      const scale = f(c.gradientScale ?? 1);
      const size = value.shape.reduce((a, b) => a * b, 1);
      if (scratch.length < 3 * size) scratch = new Float32Array(3 * size);
      const x = memory.read(backend, value);
      const g = memory.read(backend, gradient);
      const m0 = memory.read(backend, m);
      const v0 = memory.read(backend, v);
      for (let i = 0; i < size; i++) {
        const gi = scale === 1 ? g[i] : f(g[i] * scale); // tf.mul(g, scale), rounded as it rounds
        const mi = f(f(m0[i] * b1) + f(gi * oneMinusB1)); // m = β₁m + (1 − β₁)g
        const vi = f(f(v0[i] * b2) + f(f(gi * gi) * oneMinusB2)); // v = β₂v + (1 − β₂)g²
        const mHat = f(mi / bias1);
        const vHat = f(vi / bias2);
        scratch[i] = f(f(f(mHat / f(f(Math.sqrt(vHat)) + epsilon)) * step) + x[i]);
        scratch[size + i] = mi;
        scratch[2 * size + i] = vi;
      }
      // the views above are not used past here: allocating the outputs may move wasm's heap
      return [0, 1, 2].map((k) =>
        memory.write(backend, [...value.shape], (out) => out.set(scratch.subarray(k * size, (k + 1) * size))),
      );
    },
  });
}

/** Whether `adamUpdate` runs on the active backend (wasm or cpu). */
export function adamUpdateAvailable(): boolean {
  return tensorMemory(getBackend()) !== null;
}

/** `[value', m', v']` of one Adam step on float32 tensors of one shape (only where `adamUpdateAvailable()`). */
export function adamUpdate(
  value: Tensor,
  gradient: Tensor,
  m: Tensor,
  v: Tensor,
  constants: AdamStepConstants,
): Tensor[] {
  const backendName = getBackend();
  if (!getKernel(KERNEL_NAME, backendName)) register(backendName);
  return engine().runKernel(KERNEL_NAME, { value, gradient, m, v }, { ...constants }) as unknown as Tensor[];
}
