// Regression test (reliability issue, item 5): NaN or huge values in the padding never change a
// result. Every op of @setgen/ops that takes masked sets and every set layer of this package runs
// on a padded batch whose padding holds junk, and must give the value AND the gradient that its
// sets give one by one without any padding (the padded rows get an exact zero gradient).
import { chamferDistance, hungarianLoss, hungarianMatching, sinkhornDistance } from '@setgen/ops';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  fillPadding,
  prefixMask,
  randomSet,
  randomTensor,
  setsOneByOne,
  valuesOf,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AttentiveBottleneckLayer } from './attentive-bottleneck-layer.js';
import { FiLM } from './film.js';
import { FirstNCreation } from './first-n-creation.js';
import { FSPool } from './fspool.js';
import { IidCreation } from './iid-creation.js';
import { InducedSetAttentionBlock } from './induced-set-attention-block.js';
import { MixtureOfGaussiansPrior } from './mixture-of-gaussians-prior.js';
import { MLPCreation } from './mlp-creation.js';
import { MultiheadAttentionBlock } from './multihead-attention-block.js';
import { PoolingByMultiheadAttention } from './pooling-by-multihead-attention.js';
import { SetAttentionBlock } from './set-attention-block.js';
import type { SetCreationLayer } from './set-creation.js';
import { setPooling } from './set-pooling.js';
import { TopNCreation } from './top-n-creation.js';

const SIZES = [3, 5, 1];
const N = 5;
const D = 4;
const JUNK = [Number.NaN, 1e30, Number.NEGATIVE_INFINITY];

/** A per-set computation: on the padded batch (with its mask) and on one set alone. */
interface Case {
  name: string;
  padded: (x: tf.Tensor3D, mask: tf.Tensor2D) => tf.Tensor;
  alone: (set: tf.Tensor3D, b: number) => tf.Tensor;
  /** Per-element outputs are compared after padding the lone results back to N rows. */
  perElement: boolean;
}

/** The tensors the cases share, made on the backend under test (in `beforeAll`). */
interface Shared {
  queries: tf.Tensor3D;
  hEnc: tf.Tensor3D;
  z: tf.Tensor3D;
  condition: tf.Tensor2D;
  target: tf.Tensor3D;
  targetMask: tf.Tensor2D;
}
const TARGET_SIZES = [4, 2, 5];

function makeShared(): Shared {
  return {
    queries: randomSet(40, [SIZES.length, 2, D]),
    hEnc: randomTensor(41, [SIZES.length, 3, 8]) as tf.Tensor3D,
    z: randomTensor(42, [SIZES.length, 3, 2]) as tf.Tensor3D,
    condition: randomTensor(43, [SIZES.length, 3]) as tf.Tensor2D,
    target: randomSet(44, [SIZES.length, N, D]),
    targetMask: prefixMask(TARGET_SIZES, N),
  };
}

/** Every case, on fresh layers; `shared` is read when a case runs. */
function makeCases(shared: Shared): Case[] {
  const opts = { seed: 5 };
  const mab = new MultiheadAttentionBlock({ units: 8, numHeads: 2, ...opts });
  const targetSet = (b: number) => tf.slice(shared.target, [b, 0, 0], [1, TARGET_SIZES[b], D]) as tf.Tensor3D;
  return [
    ...(['setvae', 'set-transformer'] as const).flatMap((variant) =>
      (['softmax', 'slot'] as const).map((attention): Case => {
        const sab = new SetAttentionBlock({ units: 8, numHeads: 2, variant, attention, ...opts });
        return {
          name: `SAB ${variant} ${attention}`,
          padded: (x, mask) => sab.apply(x, { mask }) as tf.Tensor,
          alone: (set) => sab.apply(set) as tf.Tensor,
          perElement: true,
        };
      }),
    ),
    {
      name: 'MAB (padded keys)',
      padded: (x, mask) => mab.apply([shared.queries, x], { mask: [null, mask] }) as tf.Tensor,
      alone: (set, b) => mab.apply([tf.slice(shared.queries, [b, 0, 0], [1, -1, -1]), set]) as tf.Tensor,
      perElement: false,
    },
    ...(['softmax', 'slot'] as const).map((attention): Case => {
      const isab = new InducedSetAttentionBlock({
        units: 8,
        numHeads: 2,
        numInducingPoints: 3,
        attention,
        ...opts,
      });
      return {
        name: `ISAB ${attention}`,
        padded: (x, mask) => isab.apply(x, { mask }) as tf.Tensor,
        alone: (set) => isab.apply(set) as tf.Tensor,
        perElement: true,
      };
    }),
    (() => {
      const pma = new PoolingByMultiheadAttention({ units: 8, numHeads: 2, numSeeds: 2, ...opts });
      return {
        name: 'PMA',
        padded: (x: tf.Tensor3D, mask: tf.Tensor2D) => pma.apply(x, { mask }) as tf.Tensor,
        alone: (set: tf.Tensor3D) => pma.apply(set) as tf.Tensor,
        perElement: false,
      };
    })(),
    ...[true, false].map((conditionalPrior): Case => {
      const abl = new AttentiveBottleneckLayer({
        units: 8,
        latentDim: 2,
        numHeads: 2,
        numInducingPoints: 3,
        conditionalPrior,
        ...opts,
      });
      // out, the projection h and the KL: everything that reaches SetVAE's loss
      const all = (x: tf.Tensor3D, mask: tf.Tensor2D | null, b: number | null) => {
        const pick = (t: tf.Tensor3D) =>
          b === null ? t : (tf.slice(t, [b, 0, 0], [1, -1, -1]) as tf.Tensor3D);
        const r = abl.forward(x, {
          mask,
          hEnc: pick(shared.hEnc),
          z: pick(shared.z),
          returnAttention: false,
        });
        const rest = tf.tidy(() =>
          tf.concat([tf.reshape(r.h, [r.h.shape[0], -1]), tf.reshape(r.kl, [-1, 1])], 1),
        );
        tf.dispose([r.h, r.kl, r.z, r.mu, r.logvar, r.priorMu, r.priorLogvar]);
        return { out: r.out, rest };
      };
      return {
        name: `ABL (conditionalPrior ${conditionalPrior})`,
        padded: (x, mask) => {
          const { out, rest } = all(x, mask, null);
          const result = tf.tidy(() => tf.concat([tf.reshape(out, [x.shape[0], -1]), rest], 1));
          tf.dispose([out, rest]);
          return result;
        },
        alone: (set, b) => {
          const { out, rest } = all(set, null, b);
          const flat = tf.pad(tf.reshape(out, [1, -1]), [
            [0, 0],
            [0, (N - set.shape[1]) * D],
          ]);
          return tf.concat([flat, rest], 1);
        },
        perElement: false,
      };
    }),
    (() => {
      const pool = new FSPool({ numPieces: 3, seed: 2 });
      return {
        name: 'FSPool',
        padded: (x: tf.Tensor3D, mask: tf.Tensor2D) => pool.apply(x, { mask }) as tf.Tensor,
        alone: (set: tf.Tensor3D) => pool.apply(set) as tf.Tensor,
        perElement: false,
      };
    })(),
    ...(['sum', 'mean', 'max', 'pna'] as const).map(
      (mode): Case => ({
        name: `setPooling ${mode}`,
        padded: (x, mask) => setPooling(x, mask, mode),
        alone: (set) => setPooling(set, null, mode),
        perElement: false,
      }),
    ),
    (() => {
      const film = new FiLM({ seed: 3 });
      const c = (b: number | null) =>
        b === null ? shared.condition : tf.slice(shared.condition, [b, 0], [1, -1]);
      return {
        name: 'FiLM',
        padded: (x: tf.Tensor3D, mask: tf.Tensor2D) =>
          film.apply([x, c(null)], { mask: [mask, null] }) as tf.Tensor,
        alone: (set: tf.Tensor3D, b: number) => film.apply([set, c(b)]) as tf.Tensor,
        perElement: true,
      };
    })(),
    // the ops of @setgen/ops that take masked sets (Chamfer and Hungarian already passed)
    {
      name: 'chamferDistance',
      padded: (x, mask) =>
        chamferDistance({ x, mask }, { x: shared.target, mask: shared.targetMask }, { reduction: 'none' }),
      alone: (set, b) => chamferDistance(set, targetSet(b), { reduction: 'none' }),
      perElement: false,
    },
    {
      name: 'hungarianLoss',
      padded: (x, mask) =>
        hungarianLoss({ x, mask }, { x: shared.target, mask: shared.targetMask }, { reduction: 'none' }),
      alone: (set, b) => hungarianLoss(set, targetSet(b), { reduction: 'none' }),
      perElement: false,
    },
    {
      name: 'sinkhornDistance',
      padded: (x, mask) =>
        sinkhornDistance(
          { x, mask },
          { x: shared.target, mask: shared.targetMask },
          { epsilon: 0.5, iterations: 10, reduction: 'none' },
        ),
      alone: (set, b) =>
        sinkhornDistance(set, targetSet(b), { epsilon: 0.5, iterations: 10, reduction: 'none' }),
      perElement: false,
    },
  ];
}

describeBackends('NaN or huge values in the padding never change a value or a gradient', () => {
  const shared = {} as Shared;
  const cases = makeCases(shared);
  let x: tf.Tensor3D;
  let mask: tf.Tensor2D;
  beforeAll(() => {
    Object.assign(shared, makeShared());
    x = randomSet(7, [SIZES.length, N, D]);
    mask = prefixMask(SIZES, N);
  });
  afterAll(() => tf.dispose([x, mask, ...Object.values(shared)]));

  for (const c of cases) {
    it(`${c.name}: equals the sets one by one, value and gradient, whatever the padding holds`, () => {
      const padTo = c.perElement ? N : undefined;
      const reference = () => setsOneByOne(x, SIZES, c.alone, padTo);
      const expected = reference();
      const probe = randomTensor(9, expected.shape);
      const expectedGrad = tf.grad((t: tf.Tensor) =>
        tf.sum(tf.mul(setsOneByOne(t as tf.Tensor3D, SIZES, c.alone, padTo), probe)),
      )(x);
      const want = valuesOf(expected);
      const wantGrad = valuesOf(expectedGrad);
      for (const junk of JUNK) {
        const xJunk = fillPadding(x, mask, junk);
        const got = valuesOf(c.padded(xJunk, mask));
        expectClose(got, want, { rtol: 1e-4, atol: 1e-5 });
        const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c.padded(t as tf.Tensor3D, mask), probe)))(
          xJunk,
        );
        expectClose(valuesOf(grad), wantGrad, { rtol: 1e-3, atol: 1e-5 });
        xJunk.dispose();
      }
      probe.dispose();
    });
  }

  // one definition of a mask everywhere (reliability issue, item 6): > 0.5 is an element
  it('masks of 0.3, 2 or NaN select exactly as their binarised mask does, in every op and layer', () => {
    // set sizes [3, 5, 1] written with odd values: 2 and 0.7 are elements, 0.3, 0.5 and NaN padding
    const odd = tf.tensor2d([
      [2, 1, 0.7, 0.3, Number.NaN],
      [1, 2, 1, 0.51, 3],
      [0.9, 0.5, -1, Number.NaN, 0],
    ]);
    for (const c of cases) {
      const want = valuesOf(c.padded(x, mask));
      expectClose(valuesOf(c.padded(x, odd)), want, { rtol: 0, atol: 0 });
    }
    odd.dispose();
  });

  it('hungarianMatching ignores NaN padding', () => {
    const xJunk = fillPadding(x, mask, Number.NaN);
    const padded = hungarianMatching({ x: xJunk, mask }, { x: shared.target, mask: shared.targetMask });
    const alone = SIZES.map((n, b) => {
      const set = tf.slice(x, [b, 0, 0], [1, n, D]) as tf.Tensor3D;
      const t = tf.slice(shared.target, [b, 0, 0], [1, TARGET_SIZES[b], D]) as tf.Tensor3D;
      const m = hungarianMatching(set, t)[0];
      tf.dispose([set, t]);
      return Array.from(m);
    });
    expect(padded.map((m) => Array.from(m))).toEqual(alone);
    xJunk.dispose();
  });

  it('a padded batch with junk leaks no tensor through any of them', async () => {
    const xJunk = fillPadding(x, mask, Number.NaN);
    for (const c of cases) {
      c.padded(xJunk, mask).dispose(); // builds the layer (its weights are not a leak)
      const before = tf.memory().numTensors;
      c.padded(xJunk, mask).dispose();
      expect(tf.memory().numTensors - before, c.name).toBe(0);
      await expectNoLeak(() => c.padded(xJunk, mask).dispose());
    }
    xJunk.dispose();
  });
});

// The creation layers make padding instead of reading it: their padded rows must be exact
// zeros, each created set must be the set created alone, and whatever a later op sends back
// through the padded rows (NaN, 1e30, ±∞ in the upstream gradient) must never reach z or the
// layer's weights.
describeBackends('creation layers: padded rows are zeros, and junk sent back through them is ignored', () => {
  const C = 3;
  const LATENT = 4;
  /** A creation layer and how one of its sets is made alone (`[1, n, C]`, unpadded). */
  interface CreationCase {
    name: string;
    /** Made on the backend under test (a mixture prior builds its weights at once). */
    make: () => SetCreationLayer;
    /** Set b of the batch made on its own; `create` is the layer's own `create`. */
    alone: (
      create: (z: tf.Tensor2D, sizes: number[]) => tf.Tensor3D,
      z: tf.Tensor2D,
      b: number,
    ) => tf.Tensor3D;
  }
  const byItself: CreationCase['alone'] = (create, z, b) =>
    tf.slice(create(tf.slice(z, [b, 0], [1, -1]), [SIZES[b]]), [0, 0, 0], [1, SIZES[b], C]);
  // i.i.d. draws depend on the set's position in the batch: set b alone is row b of the same
  // draw with every set at full length
  const fromFullDraw: CreationCase['alone'] = (create, z, b) =>
    tf.slice(
      create(
        z,
        SIZES.map(() => N),
      ),
      [b, 0, 0],
      [1, SIZES[b], C],
    );
  const cases: CreationCase[] = [
    {
      name: 'FirstNCreation',
      make: () => new FirstNCreation({ featureDim: C, maxSize: N, seed: 1 }),
      alone: byItself,
    },
    {
      name: 'MLPCreation',
      make: () => new MLPCreation({ featureDim: C, maxSize: N, hiddenUnits: 6, seed: 2 }),
      alone: byItself,
    },
    ...(['dot', 'cosine'] as const).map((similarity) => ({
      name: `TopNCreation ${similarity}, latentFilm`,
      make: () =>
        new TopNCreation({
          featureDim: C,
          referenceSize: 7,
          angleDim: 3,
          maxSize: N,
          angleHiddenUnits: 4,
          similarity,
          latentFilm: true,
          seed: 3,
        }),
      alone: byItself,
    })),
    {
      name: 'IidCreation normal',
      make: () => new IidCreation({ featureDim: C, seed: 4 }),
      alone: fromFullDraw,
    },
    {
      name: 'IidCreation mixture prior',
      make: () =>
        new IidCreation({
          featureDim: C,
          prior: new MixtureOfGaussiansPrior({ numComponents: 2, dim: C, seed: 5 }),
          seed: 6,
        }),
      alone: fromFullDraw,
    },
  ];
  let z: tf.Tensor2D;
  let mask: tf.Tensor2D;
  const made = new Map<string, SetCreationLayer>();
  beforeAll(() => {
    z = randomTensor(11, [SIZES.length, LATENT]) as tf.Tensor2D;
    mask = prefixMask(SIZES, N);
    for (const c of cases) made.set(c.name, c.make());
  });
  afterAll(() => {
    tf.dispose([z, mask]);
    for (const layer of made.values()) layer.dispose();
  });

  for (const c of cases) {
    it(`${c.name}: each set equals the set made alone; padded rows are 0 and pass back no gradient`, () => {
      const create = (zz: tf.Tensor2D, sizes: number[]) =>
        made.get(c.name)!.create(zz, sizes, { seed: 9 }).x as tf.Tensor3D;
      create(z, SIZES).dispose(); // builds the layer
      const weights = made.get(c.name)!.trainableWeights.map((w) => w.read());
      const xs = [z, ...weights];
      const padded = () => create(z, SIZES);
      const reference = () =>
        tf.concat(
          SIZES.map((n, b) =>
            tf.pad(c.alone(create, z, b), [
              [0, 0],
              [0, N - n],
              [0, 0],
            ]),
          ),
          0,
        );
      const got = valuesOf(padded());
      expectClose(got, valuesOf(reference()), { rtol: 1e-5, atol: 1e-6 });
      // padding holds exact zeros (not tiny values, not -0 from a product with NaN)
      const m = mask.dataSync();
      const padding = got.filter((_, i) => m[Math.floor(i / C)] === 0);
      expect(padding.length).toBe((SIZES.length * N - 9) * C);
      expect(padding.every((v) => Object.is(v, 0))).toBe(true);
      // the reference's tf.pad drops whatever comes back through the padding: the unpadded gradient
      const probe = randomTensor(13, [SIZES.length, N, C]) as tf.Tensor3D;
      const reached = tf.engine().gradients(reference, xs, probe, true);
      // no gradient (z unused, as in First-n) counts as a zero gradient
      const flat = (g: tf.Tensor | null, i: number) =>
        g ? valuesOf(g) : new Array<number>(xs[i].size).fill(0);
      const expected = reached.grads.map(flat);
      reached.value.dispose();
      let checked = 0;
      for (const junk of JUNK) {
        const dy = fillPadding(probe, mask, junk);
        const actual = tf.engine().gradients(padded, xs, dy, true);
        actual.grads.forEach((g, i) => {
          const got = flat(g, i);
          expectClose(got, expected[i], { rtol: 1e-4, atol: 1e-6 });
          if (got.some((v) => v !== 0)) checked++;
        });
        tf.dispose([dy, actual.value]);
      }
      // z or the weights get a gradient, except where neither exists (i.i.d. N(0, I))
      expect(checked > 0, 'something was differentiated').toBe(c.name !== 'IidCreation normal');
      probe.dispose();
    });
  }

  it('leak no tensor', async () => {
    for (const c of cases) {
      made.get(c.name)!.create(z, SIZES).x.dispose();
      await expectNoLeak(() => {
        const { x, mask: m } = made.get(c.name)!.create(z, SIZES, { seed: 1 });
        tf.dispose([x, m!]);
      });
    }
  });
});
