// The page of src/browser.test.ts: the layers of @setgen/layers — outputs and the gradients
// with respect to the input and every weight — on wasm, cpu, webgl and webgpu in one
// Chromium page, on padded batches with NaN in the padding; the Node side compares with wasm.
import {
  type BrowserCase,
  type CaseOutput,
  publishResults,
  runOnBackends,
} from '@setgen/testkit/browser-page';
import { randomSet } from '@setgen/testkit/sets';
import * as tf from '@tensorflow/tfjs-core';
import type { layers } from '@tensorflow/tfjs-layers';
import {
  abl,
  firstNCreation,
  fspool,
  iidCreation,
  isab,
  MixtureOfGaussiansPrior,
  mab,
  mlpCreation,
  pma,
  type SetCreation,
  sab,
  topNCreation,
} from '../src/index.js';

const SIZES = [6, 3, 1];
const N = 6;
const D = 8;

interface Inputs {
  layer: layers.Layer;
  x: tf.Variable;
  mask: tf.Tensor2D;
  weights: tf.Tensor;
}

/** `[B, N, D]` with NaN in the padding, its prefix mask, and the weights of the scalar loss. */
function paddedInput(seed: number, width = D): Omit<Inputs, 'layer' | 'weights'> {
  return tf.tidy(() => {
    const mask = tf.tensor2d(SIZES.map((s) => Array.from({ length: N }, (_, i) => (i < s ? 1 : 0))));
    const x = tf.where(
      tf.cast(tf.expandDims(mask, 2), 'bool'),
      randomSet(seed, [SIZES.length, N, width]),
      tf.fill([SIZES.length, N, width], Number.NaN),
    );
    return { x: tf.variable(x), mask: tf.keep(mask) };
  });
}

/**
 * A layer case: `forward(layer, x, mask)` → named outputs; the first is the one whose weighted
 * sum is differentiated with respect to x and every trainable weight.
 */
function layerCase(
  name: string,
  make: () => layers.Layer,
  forward: (layer: layers.Layer, x: tf.Tensor3D, mask: tf.Tensor2D) => Record<string, tf.Tensor>,
  seed: number,
): BrowserCase<Inputs> {
  return {
    name,
    setup: () => {
      const { x, mask } = paddedInput(seed);
      const layer = make();
      const first = tf.tidy(() => Object.values(forward(layer, x as tf.Tensor3D, mask))[0]);
      const weights = tf.tidy(() =>
        tf.where(
          tf.isNaN(first),
          tf.zerosLike(first),
          tf.reshape(randomSet(seed + 1, [1, 1, first.size]), first.shape),
        ),
      );
      first.dispose();
      return { layer, x, mask, weights };
    },
    run: ({ layer, x, mask, weights }) => {
      const outputs = tf.tidy(() => forward(layer, x as tf.Tensor3D, mask));
      const variables = [x, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(Object.values(forward(layer, x as tf.Tensor3D, mask))[0], weights)) as tf.Scalar,
        variables,
      );
      const result: CaseOutput = { ...outputs, loss: value };
      variables.forEach((v, i) => {
        result[i === 0 ? 'grad.x' : `grad.weight${i - 1}`] = grads[v.name];
      });
      return result;
    },
    teardown: ({ layer, x, mask, weights }) => {
      layer.dispose();
      tf.dispose([x, mask, weights]);
    },
  };
}

const apply = (layer: layers.Layer, x: tf.Tensor, mask: tf.Tensor) => ({
  out: layer.apply(x, { mask }) as tf.Tensor,
});

/** A creation layer: sets of the sizes from a latent `[B, 5]`, gradients through z and the weights. */
function creationCase(
  name: string,
  make: () => SetCreation & layers.Layer,
  seed: number,
): BrowserCase<Inputs> {
  return {
    name,
    setup: () => {
      const z = tf.variable(
        tf.tidy(() => tf.reshape(randomSet(seed, [1, SIZES.length, 5]), [SIZES.length, 5])),
      );
      const layer = make();
      const first = layer.create(z as tf.Tensor2D, SIZES, { seed: 3 });
      const weights = tf.tidy(() => tf.reshape(randomSet(seed + 1, [1, 1, first.x.size]), first.x.shape));
      tf.dispose([first.x, ...(first.mask ? [first.mask] : [])]);
      return { layer, x: z, mask: tf.zeros([1, 1]) as tf.Tensor2D, weights };
    },
    run: ({ layer, x: z, weights }) => {
      const creation = layer as unknown as SetCreation;
      const { x, mask } = creation.create(z as tf.Tensor2D, SIZES, { seed: 3 });
      const variables = [z, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
      const { value, grads } = tf.variableGrads(() => {
        const created = creation.create(z as tf.Tensor2D, SIZES, { seed: 3 });
        return tf.sum(tf.mul(created.x, weights)) as tf.Scalar;
      }, variables);
      const result: CaseOutput = { x, loss: value };
      if (mask) result.mask = mask;
      variables.forEach((v, i) => {
        // FirstN and i.i.d. creation ignore z's values: no gradient reaches it
        if (grads[v.name]) result[i === 0 ? 'grad.z' : `grad.weight${i - 1}`] = grads[v.name];
      });
      return result;
    },
    teardown: ({ layer, x, mask, weights }) => {
      layer.dispose();
      tf.dispose([x, mask, weights]);
    },
  };
}

const cases: BrowserCase<any>[] = [
  layerCase(
    'MAB setvae (softmax)',
    () => mab({ units: D, numHeads: 2, seed: 1 }),
    (layer, x, mask) => ({
      out: layer.apply([x, x], { mask: [mask, mask] }) as tf.Tensor,
    }),
    1,
  ),
  layerCase(
    'MAB set-transformer',
    () => mab({ units: D, numHeads: 2, variant: 'set-transformer', layerNorm: true, seed: 2 }),
    (layer, x, mask) => ({ out: layer.apply([x, x], { mask: [mask, mask] }) as tf.Tensor }),
    2,
  ),
  layerCase('SAB', () => sab({ units: D, numHeads: 2, seed: 3 }), apply, 3),
  layerCase(
    'ISAB (slot attention)',
    () => isab({ units: D, numHeads: 2, numInducingPoints: 3, attention: 'slot', seed: 4 }),
    apply,
    4,
  ),
  layerCase('PMA', () => pma({ units: D, numHeads: 2, numSeeds: 2, seed: 5 }), apply, 5),
  layerCase(
    'ABL (posterior, seeded z)',
    () => abl({ units: D, latentDim: 2, numHeads: 2, numInducingPoints: 3, seed: 6 }),
    (layer, x, mask) => {
      const hEnc = tf.tidy(() => tf.reshape(randomSet(66, [1, SIZES.length * 3, D]), [SIZES.length, 3, D]));
      const r = (layer as ReturnType<typeof abl>).forward(x, { mask, hEnc, seed: 7, returnAttention: false });
      hEnc.dispose();
      tf.dispose([r.mu, r.logvar, r.priorMu, r.priorLogvar]);
      return { out: r.out, h: r.h, z: r.z, kl: r.kl };
    },
    6,
  ),
  layerCase('FSPool', () => fspool({ numPieces: 4, seed: 8 }), apply, 8),
  creationCase(
    'TopNCreation',
    () => topNCreation({ referenceSize: 8, angleDim: 4, featureDim: 3, maxSize: 6, seed: 9 }),
    9,
  ),
  creationCase('FirstNCreation', () => firstNCreation({ maxSize: 6, featureDim: 3, seed: 10 }), 10),
  creationCase(
    'IidCreation (MoG prior)',
    () =>
      iidCreation({
        featureDim: 3,
        prior: new MixtureOfGaussiansPrior({ numComponents: 2, dim: 3, seed: 11 }),
        seed: 11,
      }),
    11,
  ),
  creationCase(
    'MLPCreation',
    () => mlpCreation({ maxSize: 6, featureDim: 3, hiddenUnits: 16, seed: 12 }),
    12,
  ),
];

publishResults(runOnBackends(cases));
