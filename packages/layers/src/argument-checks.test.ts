// Layer options and inputs are checked before any tensor work (reliability issue, items 7–8):
// an unknown option key or a wrong type is a ConfigError naming `Layer.key`; a set that is not
// float32 is a DataError naming the layer's input (not an op deep inside); nothing leaks.
import { ConfigError, DataError } from '@setgen/ops';
import { describeBackends, randomSet } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { AttentiveBottleneckLayer } from './attentive-bottleneck-layer.js';
import { FiLM } from './film.js';
import { FirstNCreation } from './first-n-creation.js';
import { FSEncoder } from './fs-encoder.js';
import { FSPool } from './fspool.js';
import { IidCreation } from './iid-creation.js';
import { InducedSetAttentionBlock } from './induced-set-attention-block.js';
import { MixtureOfGaussiansPrior } from './mixture-of-gaussians-prior.js';
import { MLPCreation } from './mlp-creation.js';
import { MultiheadAttentionBlock } from './multihead-attention-block.js';
import { PoolingByMultiheadAttention } from './pooling-by-multihead-attention.js';
import { SetAttentionBlock } from './set-attention-block.js';
import { SetPooling } from './set-pooling.js';
import { TopNCreation } from './top-n-creation.js';

const mabArgs = { units: 8, numHeads: 2 };

describeBackends('layer options and inputs', () => {
  it('unknown option keys and wrong types are ConfigErrors naming Layer.key, before any tensor', () => {
    const before = tf.memory().numTensors;
    const bad: [() => unknown, RegExp][] = [
      [
        () => new MultiheadAttentionBlock({ ...mabArgs, layernorm: false } as never),
        /MultiheadAttentionBlock\.layernorm: unknown option \(did you mean 'layerNorm'\?\)/,
      ],
      [
        () => new MultiheadAttentionBlock({ ...mabArgs, layerNorm: 'false' } as never),
        /MultiheadAttentionBlock\.layerNorm: expected true or false, got "false"/,
      ],
      [
        () => new SetAttentionBlock({ ...mabArgs, heads: 2 } as never),
        /SetAttentionBlock\.heads: unknown option/,
      ],
      [
        () => new InducedSetAttentionBlock({ ...mabArgs, numInducingPoint: 4 } as never),
        /InducedSetAttentionBlock\.numInducingPoint: unknown option \(did you mean 'numInducingPoints'\?\)/,
      ],
      [
        () => new InducedSetAttentionBlock({ ...mabArgs, numInducingPoints: '4' } as never),
        /InducedSetAttentionBlock\.numInducingPoints: expected an integer >= 1, got "4"/,
      ],
      [
        () => new PoolingByMultiheadAttention({ ...mabArgs, numSeed: 1 } as never),
        /PoolingByMultiheadAttention\.numSeed: unknown option/,
      ],
      [
        () =>
          new AttentiveBottleneckLayer({
            ...mabArgs,
            latentDim: 2,
            numInducingPoints: 2,
            conditionalPrior: 1,
          } as never),
        /AttentiveBottleneckLayer\.conditionalPrior: expected true or false/,
      ],
      [() => new FSPool({ pieces: 3 } as never), /FSPool\.pieces: unknown option/],
      [
        () => new SetPooling({ mode: 'median' } as never),
        /SetPooling\.mode: expected 'sum' \| 'mean' \| 'max' \| 'pna', got "median"/,
      ],
      [
        () => new FiLM({ gammaBias: 1 } as never),
        /FiLM\.gammaBias: unknown option \(did you mean 'gammaBiasInit'\?\)/,
      ],
      [
        () => new FirstNCreation({ featureDim: 2, maxSize: 3, max: 4 } as never),
        /FirstNCreation\.max: unknown option/,
      ],
      [
        () => new MLPCreation({ featureDim: 2, maxSize: 3, hiddenUnits: 0 }),
        /MLPCreation\.hiddenUnits: expected an integer >= 1, got 0/,
      ],
      [
        () =>
          new TopNCreation({
            featureDim: 2,
            maxSize: 3,
            referenceSize: 5,
            angleDim: 2,
            angleDim2: 1,
          } as never),
        /TopNCreation\.angleDim2: unknown option/,
      ],
      [
        () => new IidCreation({ featureDim: 2, scaleBySqrtN: 'yes' } as never),
        /IidCreation\.scaleBySqrtN: expected true or false/,
      ],
      [
        () => new MixtureOfGaussiansPrior({ numComponents: 2, dim: 2, temperature: Number.NaN }),
        /MixtureOfGaussiansPrior\.temperature: expected a finite number > 0, got NaN/,
      ],
    ];
    for (const [make, message] of bad) {
      expect(make).toThrow(ConfigError);
      expect(make).toThrow(message);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a set that is not float32 is a DataError naming the layer input, and leaks nothing', () => {
    const x = randomSet(1, [2, 3, 4]);
    const ints = tf.cast(x, 'int32') as tf.Tensor3D;
    const sab = new SetAttentionBlock({ ...mabArgs, name: 'sab' });
    const isab = new InducedSetAttentionBlock({ ...mabArgs, numInducingPoints: 2, name: 'isab' });
    const pma = new PoolingByMultiheadAttention({ ...mabArgs, numSeeds: 1, name: 'pma' });
    const pool = new FSPool();
    const encoders = (['dspn', 'tspn'] as const).map(
      (variant) => new FSEncoder({ variant, hiddenUnits: 4, outputDim: 3, numPieces: 3 }),
    );
    const mabLayer = new MultiheadAttentionBlock({ ...mabArgs, name: 'mab' });
    const abl = new AttentiveBottleneckLayer({ ...mabArgs, numInducingPoints: 2, latentDim: 2, name: 'abl' });
    const all = [sab, isab, pma, pool, ...encoders, abl];
    for (const layer of all) (layer.apply(x) as tf.Tensor).dispose(); // built
    (mabLayer.apply([x, x]) as tf.Tensor).dispose();
    const before = tf.memory().numTensors;
    expect(() => sab.apply(ints)).toThrow(DataError);
    expect(() => sab.apply(ints)).toThrow(/^sab query: expected a float32 tensor, got dtype int32/);
    expect(() => isab.apply(ints)).toThrow(/^isab input: expected a float32 tensor, got dtype int32/);
    expect(() => pma.apply(ints)).toThrow(/^pma input: expected a float32 tensor/);
    expect(() => pool.apply(ints)).toThrow(/^x: expected a float32 tensor/);
    // never a message about an op deep inside (e.g. the internal batchMatMul)
    for (const encoder of encoders) {
      expect(() => encoder.apply(ints)).toThrow(/^x: expected a float32 tensor, got dtype int32/);
    }
    expect(() => mabLayer.apply([x, ints])).toThrow(/^mab key: expected a float32 tensor, got dtype int32/);
    expect(() => abl.apply(ints)).toThrow(/^abl x: expected a float32 tensor, got dtype int32/);
    expect(tf.memory().numTensors).toBe(before);
    for (const layer of [...all, mabLayer]) layer.dispose();
    tf.dispose([x, ints]);
  });
});
