// Property checks for set layers, usable from any test runner (no vitest import): they throw
// an Error with a readable message on failure. `@setgen/layers/testing`.
//
//   expectPermutationEquivariant(sab({ units: 8, numHeads: 2 }), { inputShape: [2, 5, 8] });
//   expectPermutationInvariant((x, mask) => myPool(x, mask), { input: x, mask, seed: 3 });

import { Random } from '@setgen/ops';
import { type Tensor, type Tensor2D, type Tensor3D, tensor2d, tensor3d, tidy } from '@tensorflow/tfjs-core';
import type { layers } from '@tensorflow/tfjs-layers';

/** A layer (called as `layer.apply(x, { mask })`) or a function of a set and its mask. */
export type SetFunction = layers.Layer | ((x: Tensor3D, mask: Tensor2D | null) => Tensor | Tensor[]);

/** Options of `expectPermutationEquivariant` and `expectPermutationInvariant`. */
export interface PermutationCheckOptions {
  /** The set batch to permute; default: a seeded standard-normal batch of `inputShape`. */
  input?: Tensor3D;
  /** Shape of the generated input when `input` is not given; default [2, 6, 4]. */
  inputShape?: [number, number, number];
  /** `[B, N]` valid-mask of the input, permuted along with it; default none. */
  mask?: Tensor2D;
  /** Seed of the generated input and the permutations; default 0. */
  seed?: number;
  /** How many random permutations to try; default 3. */
  permutations?: number;
  /** Tolerance: |a − b| <= atol + rtol·|b|; defaults 1e-4 and 1e-5. */
  rtol?: number;
  atol?: number;
}

interface Check {
  name: string;
  /** Whether the output rows follow the input permutation (equivariant) or not (invariant). */
  permuteOutput: boolean;
}

function isLayer(f: SetFunction): f is layers.Layer {
  return (
    typeof (f as layers.Layer).apply === 'function' && typeof (f as layers.Layer).getConfig === 'function'
  );
}

function evaluate(f: SetFunction, x: Tensor3D, mask: Tensor2D | null): Tensor {
  const out = isLayer(f) ? f.apply(x, mask ? { mask } : {}) : f(x, mask);
  const first = Array.isArray(out) ? out[0] : out;
  if (!first || typeof (first as Tensor).dataSync !== 'function') {
    throw new Error(
      'permutation check: the layer/function must return a tensor (or an array whose first item is one)',
    );
  }
  return first as Tensor;
}

/** Rows of each set (axis 1) reordered: result[b, i] = values[b, perm[i]]. */
function permuteRows(
  values: Float32Array | Int32Array | Uint8Array,
  shape: number[],
  perm: number[],
): Float32Array {
  const [b, n] = shape;
  const inner = shape.slice(2).reduce((p, d) => p * d, 1);
  const out = new Float32Array(values.length);
  for (let s = 0; s < b; s++) {
    for (let i = 0; i < n; i++) {
      const from = (s * n + perm[i]) * inner;
      out.set(values.subarray(from, from + inner), (s * n + i) * inner);
    }
  }
  return out;
}

function check(f: SetFunction, options: PermutationCheckOptions, { name, permuteOutput }: Check): void {
  const { seed = 0, permutations = 3, rtol = 1e-4, atol = 1e-5, mask = null } = options;
  const random = new Random(seed);
  const shape = options.input?.shape ?? options.inputShape ?? [2, 6, 4];
  if (shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`${name}: inputShape must be [B, N, D] with positive integers, got [${shape.join(',')}]`);
  }
  const [b, n, d] = shape;
  tidy(() => {
    const x =
      options.input ??
      tensor3d(
        Float32Array.from({ length: b * n * d }, () => random.normal()),
        shape,
      );
    const reference = evaluate(f, x, mask);
    const refValues = reference.dataSync() as Float32Array;
    const xValues = x.dataSync() as Float32Array;
    const maskValues = mask ? (mask.dataSync() as Float32Array) : null;
    for (let trial = 0; trial < permutations; trial++) {
      const perm = random.shuffle(Array.from({ length: n }, (_, i) => i));
      const px = tensor3d(permuteRows(xValues, [b, n, d], perm), shape);
      const pmask = maskValues ? tensor2d(permuteRows(maskValues, [b, n], perm), [b, n]) : null;
      const out = evaluate(f, px, pmask);
      if (permuteOutput && (out.rank < 2 || out.shape[0] !== b || out.shape[1] !== n)) {
        throw new Error(
          `${name}: expected an output [${b}, ${n}, ...] with one row per element, got [${out.shape.join(',')}]`,
        );
      }
      const expected = permuteOutput ? permuteRows(refValues, reference.shape, perm) : refValues;
      const actual = out.dataSync();
      if (actual.length !== expected.length) {
        throw new Error(
          `${name}: output shape changed under permutation: [${out.shape.join(',')}] vs [${reference.shape.join(',')}]`,
        );
      }
      for (let i = 0; i < actual.length; i++) {
        const diff = Math.abs(actual[i] - expected[i]);
        if (!(diff <= atol + rtol * Math.abs(expected[i]))) {
          throw new Error(
            `${name}: output element ${i} is ${actual[i]} after permuting the set by [${perm.join(',')}], ` +
              `expected ${expected[i]} (|diff| ${diff.toExponential(2)} > atol ${atol} + rtol ${rtol}·|expected|)`,
          );
        }
      }
    }
  });
}

/**
 * Throws unless f(P·x) = P·f(x) for random permutations P of the elements of each set
 * (the output has one row per element, `[B, N, ...]`).
 */
export function expectPermutationEquivariant(f: SetFunction, options: PermutationCheckOptions = {}): void {
  check(f, options, { name: 'expectPermutationEquivariant', permuteOutput: true });
}

/** Throws unless f(P·x) = f(x) for random permutations P of the elements of each set. */
export function expectPermutationInvariant(f: SetFunction, options: PermutationCheckOptions = {}): void {
  check(f, options, { name: 'expectPermutationInvariant', permuteOutput: false });
}
