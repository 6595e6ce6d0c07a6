// Assertions shared by the package test suites.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/** |actual - expected| <= atol + rtol * |expected|, elementwise, with a readable failure. */
export function expectClose(
  actual: ArrayLike<number> | number,
  expected: ArrayLike<number> | number,
  { rtol = 1e-4, atol = 1e-6 }: { rtol?: number; atol?: number } = {},
): void {
  for (const [name, v] of [
    ['actual', actual],
    ['expected', expected],
  ] as const) {
    // a Tensor is not array-like: Array.from would give [] and the check would pass vacuously
    if (typeof v !== 'number' && typeof (v as ArrayLike<number>)?.length !== 'number') {
      expect.fail(
        `expectClose: ${name} must be a number or an array of numbers (call dataSync() on tensors)`,
      );
    }
  }
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  expect(a.length, 'length').toBe(e.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i] - e[i]) - (atol + rtol * Math.abs(e[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `element ${worst}: got ${a[worst]}, expected ${e[worst]} (rtol ${rtol}, atol ${atol}); ` +
        `${a.filter((v, i) => !(Math.abs(v - e[i]) <= atol + rtol * Math.abs(e[i]))).length} of ${a.length} off`,
    );
  }
}

/**
 * Runs `fn` (sync or async) and checks that it leaves no tensor behind, even when it throws.
 * An error thrown by `fn` is the failed call under test and is swallowed (assert on it
 * separately), except a failed assertion (`AssertionError`) inside `fn`, which fails the test.
 */
export async function expectNoLeak(fn: () => unknown): Promise<void> {
  const before = tf.memory().numTensors;
  try {
    await fn();
  } catch (error) {
    if ((error as Error)?.name === 'AssertionError') throw error;
  }
  expect(tf.memory().numTensors, 'tensors left allocated').toBe(before);
}

/**
 * Central finite differences of a scalar function of one tensor, in float64 on the host.
 * Returns d f / d x as a flat array (x's size). Use small inputs.
 */
export function finiteDifferenceGradient(
  f: (x: tf.Tensor) => tf.Scalar,
  x: tf.Tensor,
  h = 1e-3,
): Float64Array {
  const base = x.dataSync().slice();
  const grad = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const eval1 = (delta: number) =>
      tf.tidy(() => {
        const v = Float32Array.from(base);
        v[i] += delta;
        return f(tf.tensor(v, x.shape, 'float32')).dataSync()[0];
      });
    grad[i] = (eval1(h) - eval1(-h)) / (2 * h);
  }
  return grad;
}

/** The values of `t` as a plain array; disposes `t` (for one-line assertions on op results). */
export function valuesOf(t: tf.Tensor): number[] {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}
