// The initial set of a set predictor from any `@setgen/layers` creation layer (Top-n paper
// §2.1, §5.1: the point of that paper is that DSPN's and TSPN's initial sets are pluggable).
// One home for the choice, shared by DSPN and TSPN.

import {
  FirstNCreation,
  IidCreation,
  MLPCreation,
  type SetCreationLayer,
  TopNCreation,
} from '@setgen/layers';
import { Random } from '@setgen/ops';
import { fill, tensor2d, tidy } from '@tensorflow/tfjs-core';

/** How the initial set is created. */
export const CREATION_KINDS = ['first-n', 'top-n', 'iid', 'mlp'] as const;
/** One of `CREATION_KINDS`: how a model creates its initial set. */
export type CreationKind = (typeof CREATION_KINDS)[number];

export interface CreationOptions {
  kind: CreationKind;
  /** Feature dimension C of the created elements. */
  featureDim: number;
  /** Set size n of the created sets (the padded length). */
  maxSize: number;
  /** Width of z. */
  latentDim: number;
  /** Top-n: reference points n0 (Top-n App. D.1: 2·n). */
  referenceSize: number;
  /** Top-n: angle dimension (the Top-n DSPN code: 4). */
  angleDim: number;
  /** MLP creation: hidden width. */
  hiddenUnits: number;
  /** Learned points start U[lo, hi) instead of the layers' N(0, 1) (DSPN: U[0, 1)). */
  uniformInit: [number, number] | null;
  seed: number;
}

/** Builds the creation layer for z `[B, latentDim]` (weights exist on return). */
export function buildCreation(options: CreationOptions): SetCreationLayer {
  const { kind, featureDim, maxSize, seed } = options;
  const layer: SetCreationLayer =
    kind === 'first-n'
      ? new FirstNCreation({ featureDim, maxSize, seed, name: 'creation' })
      : kind === 'top-n'
        ? new TopNCreation({
            featureDim,
            maxSize,
            referenceSize: options.referenceSize,
            angleDim: options.angleDim,
            seed,
            name: 'creation',
          })
        : kind === 'mlp'
          ? new MLPCreation({ featureDim, maxSize, hiddenUnits: options.hiddenUnits, seed, name: 'creation' })
          : new IidCreation({ featureDim, maxSize, prior: 'normal', seed, name: 'creation' });
  tidy(() => {
    layer.create(tensor2d(new Float32Array(options.latentDim), [1, options.latentDim]), [maxSize]);
  });
  const named = (suffix: string) => layer.weights.find((w) => w.originalName.endsWith(suffix));
  // Top-n's FiLM starts as the identity (α = 1, β = 0 for every score), so Ŷ⁰ starts as the
  // selected reference points themselves, like the other methods' sets (its U(±1) default
  // scales and shifts each channel at random, which costs a short run many steps).
  for (const [suffix, value] of [
    ['filmAlpha/kernel', 0],
    ['filmAlpha/bias', 1],
    ['filmBeta/kernel', 0],
    ['filmBeta/bias', 0],
  ] as const) {
    const weight = named(suffix);
    if (weight) {
      const initial = fill(weight.shape as number[], value);
      weight.write(initial);
      initial.dispose();
    }
  }
  const points = named('points');
  if (options.uniformInit && points) {
    const [lo, hi] = options.uniformInit;
    const random = new Random(seed + 101);
    const [rows, cols] = points.shape as [number, number];
    const values = Float32Array.from({ length: rows * cols }, () => random.uniform(lo, hi));
    const initial = tensor2d(values, [rows, cols]);
    points.write(initial);
    initial.dispose();
  }
  return layer;
}
