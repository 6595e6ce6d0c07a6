import { readFileSync } from 'node:fs';
import {
  describeBackends,
  expectClose,
  expectNoLeak,
  finiteDifferenceGradient,
  randomTensor,
  useBackend,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it } from 'vitest';
import { assembleLayerNorm, layerNormModuleSource } from '../wasm/build.mjs';
import { ConfigError, DataError, ShapeError } from './errors.js';
import { FUSED_LAYER_NORM_FLAG, fusedAddLayerNorm, fusedLayerNormAvailable } from './fused-layer-norm.js';

const EPS = 1e-5;

/** LN(x + r) and its gradients for the weight dy, in float64 on the host (the definition, written out). */
function reference(
  x: ArrayLike<number>,
  r: ArrayLike<number> | null,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  dy: ArrayLike<number>,
  c: number,
  eps = EPS,
) {
  const rows = x.length / c;
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  const dGamma = new Float64Array(c);
  const dBeta = new Float64Array(c);
  for (let i = 0; i < rows; i++) {
    const s = Array.from({ length: c }, (_, j) => x[i * c + j] + (r ? r[i * c + j] : 0));
    const mu = s.reduce((a, b) => a + b, 0) / c;
    const variance = s.reduce((a, b) => a + (b - mu) ** 2, 0) / c;
    const rho = 1 / Math.sqrt(variance + eps);
    const xHat = s.map((v) => (v - mu) * rho);
    const g = xHat.map((_, j) => dy[i * c + j] * gamma[j]);
    const meanG = g.reduce((a, b) => a + b, 0) / c;
    const meanGx = g.reduce((a, b, j) => a + b * xHat[j], 0) / c;
    for (let j = 0; j < c; j++) {
      y[i * c + j] = xHat[j] * gamma[j] + beta[j];
      dx[i * c + j] = rho * (g[j] - meanG - xHat[j] * meanGx);
      dGamma[j] += dy[i * c + j] * xHat[j];
      dBeta[j] += dy[i * c + j];
    }
  }
  return { y, dx, dGamma, dBeta };
}

/** The op and its four gradients for the weight dy: Σ dy·LN(x + r). */
function run(x: tf.Tensor, r: tf.Tensor | null, gamma: tf.Tensor, beta: tf.Tensor, dy: tf.Tensor) {
  const y = fusedAddLayerNorm(x, r, gamma, beta, EPS);
  const inputs = r ? [x, r, gamma, beta] : [x, gamma, beta];
  const grads = tf.grads((...ts: tf.Tensor[]) =>
    tf.sum(
      tf.mul(
        dy,
        r
          ? fusedAddLayerNorm(ts[0], ts[1], ts[2], ts[3], EPS)
          : fusedAddLayerNorm(ts[0], null, ts[1], ts[2], EPS),
      ),
    ),
  )(inputs);
  const values = [y, ...grads].map((t) => t.dataSync().slice());
  tf.dispose([y, ...grads]);
  return values;
}

const SHAPES: [number[], boolean][] = [
  [[2, 3, 64], true], // the blocks' width, vectors only
  [[5, 7], false], // C mod 4 = 3: vectors then single floats
  [[3, 2, 3], true], // C < 4: single floats only
  [[1, 9], true],
];

describeBackends('fusedAddLayerNorm', (backend) => {
  afterEach(() => tf.env().reset());

  it('is available on the wasm and cpu backends', () => {
    expect(fusedLayerNormAvailable()).toBe(true);
  });

  it.each(SHAPES)(
    'matches the float64 definition and its gradients, shape %j (residual %s)',
    (shape, withResidual) => {
      const c = shape[shape.length - 1];
      const x = randomTensor(1, shape, 3);
      const r = withResidual ? randomTensor(2, shape, 2) : null;
      const gamma = randomTensor(3, [c], 1.5);
      const beta = randomTensor(4, [c]);
      const dy = randomTensor(5, shape);
      const [y, dx, ...rest] = run(x, r, gamma, beta, dy);
      const [dr, dGamma, dBeta] = (r ? rest : [null, ...rest]) as unknown as [
        ArrayLike<number> | null,
        ArrayLike<number>,
        ArrayLike<number>,
      ];
      const ref = reference(
        x.dataSync(),
        r?.dataSync() ?? null,
        gamma.dataSync(),
        beta.dataSync(),
        dy.dataSync(),
        c,
      );
      expectClose(y, ref.y, { rtol: 1e-5, atol: 1e-5 });
      expectClose(dx, ref.dx, { rtol: 1e-4, atol: 1e-5 });
      if (dr) expectClose(dr, ref.dx, { rtol: 1e-4, atol: 1e-5 });
      expectClose(dGamma, ref.dGamma, { rtol: 1e-4, atol: 1e-5 });
      expectClose(dBeta, ref.dBeta, { rtol: 1e-5, atol: 1e-5 });
      tf.dispose([x, r, gamma, beta, dy].filter((t) => t !== null) as tf.Tensor[]);
    },
  );

  it('has gradients equal to finite differences', () => {
    const x = randomTensor(6, [2, 5], 2);
    const r = randomTensor(7, [2, 5]);
    const gamma = randomTensor(8, [5], 1.5);
    const beta = randomTensor(9, [5]);
    const w = randomTensor(10, [2, 5]);
    const loss = (xi: tf.Tensor, ri: tf.Tensor, gi: tf.Tensor) =>
      tf.sum(tf.mul(w, tf.square(fusedAddLayerNorm(xi, ri, gi, beta, EPS)))) as tf.Scalar;
    const [dx, dr, dGamma] = tf.grads(loss)([x, r, gamma]);
    expectClose(
      dx.dataSync(),
      finiteDifferenceGradient((t) => loss(t, r, gamma), x),
      { rtol: 2e-2, atol: 2e-3 },
    );
    expectClose(
      dr.dataSync(),
      finiteDifferenceGradient((t) => loss(x, t, gamma), r),
      { rtol: 2e-2, atol: 2e-3 },
    );
    expectClose(
      dGamma.dataSync(),
      finiteDifferenceGradient((t) => loss(x, r, t), gamma),
      { rtol: 2e-2, atol: 2e-3 },
    );
    tf.dispose([x, r, gamma, beta, w, dx, dr, dGamma]);
  });

  it('agrees with the composed tfjs ops within float32 rounding', () => {
    const x = randomTensor(11, [4, 6, 32], 4);
    const r = randomTensor(12, [4, 6, 32]);
    const gamma = randomTensor(13, [32]);
    const beta = randomTensor(14, [32]);
    const composed = tf.tidy(() => {
      const s = tf.add(x, r);
      const { mean, variance } = tf.moments(s, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(s, mean), tf.rsqrt(tf.add(variance, EPS))), gamma), beta);
    });
    const fused = fusedAddLayerNorm(x, r, gamma, beta, EPS);
    expectClose(fused.dataSync(), composed.dataSync(), { rtol: 1e-5, atol: 2e-6 });
    tf.dispose([x, r, gamma, beta, composed, fused]);
  });

  it('keeps rows apart: NaN in one row changes no other row, forward or backward', () => {
    const xs = randomTensor(15, [3, 8]).arraySync() as number[][];
    xs[1][2] = Number.NaN;
    const x = tf.tensor2d(xs);
    const clean = randomTensor(15, [3, 8]);
    const gamma = randomTensor(16, [8]);
    const beta = randomTensor(17, [8]);
    // the weight dy is zero on the NaN row, as the blocks' masks make it
    const dy = tf.tensor2d([Array(8).fill(1), Array(8).fill(0), Array(8).fill(-0.5)]);
    const [y, dx] = run(x, null, gamma, beta, dy);
    const [y0, dx0] = run(clean, null, gamma, beta, dy);
    for (const row of [0, 2]) {
      expect(Array.from(y.subarray(row * 8, row * 8 + 8))).toEqual(
        Array.from(y0.subarray(row * 8, row * 8 + 8)),
      );
      expect(Array.from(dx.subarray(row * 8, row * 8 + 8))).toEqual(
        Array.from(dx0.subarray(row * 8, row * 8 + 8)),
      );
    }
    expect(y.subarray(8, 16).every(Number.isNaN)).toBe(true);
    tf.dispose([x, clean, gamma, beta, dy]);
  });

  it('stays differentiable in its backward pass (a gradient of a gradient)', () => {
    const x = randomTensor(18, [3, 6], 2);
    const gamma = randomTensor(19, [6]);
    const beta = randomTensor(20, [6]);
    const w = randomTensor(21, [3, 6]);
    // h(x) = Σ (∂/∂x Σ w·LN(x))², whose gradient runs through the backward pass
    const h = (fn: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor) =>
      tf.sum(tf.square(tf.grad((u: tf.Tensor) => tf.sum(tf.mul(w, fn(u))))(t))) as tf.Scalar;
    const fused = h((u) => fusedAddLayerNorm(u, null, gamma, beta, EPS));
    const composed = h((u) => {
      const { mean, variance } = tf.moments(u, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(u, mean), tf.rsqrt(tf.add(variance, EPS))), gamma), beta);
    });
    const a = tf.grad(fused)(x);
    const b = tf.grad(composed)(x);
    expectClose(a.dataSync(), b.dataSync(), { rtol: 1e-3, atol: 1e-4 });
    tf.dispose([x, gamma, beta, w, a, b]);
  });

  it('leaves no tensors behind: calls, gradients, failed calls', async () => {
    const x = randomTensor(22, [2, 3, 8]);
    const gamma = tf.ones([8]);
    const beta = tf.zeros([8]);
    await expectNoLeak(() => fusedAddLayerNorm(x, x, gamma, beta, EPS).dispose());
    await expectNoLeak(() =>
      tf.dispose(tf.grads((a: tf.Tensor) => tf.sum(fusedAddLayerNorm(a, a, gamma, beta, EPS)))([x])),
    );
    const wrong = tf.ones([7]);
    await expectNoLeak(() => fusedAddLayerNorm(x, null, wrong, beta, EPS));
    tf.dispose([x, gamma, beta, wrong]);
  });

  it('rejects bad operands with typed errors before any tensor work', () => {
    const [x, g] = [tf.zeros([2, 4]), tf.ones([4])];
    const bad = { r: tf.zeros([2, 3]), g: tf.ones([3]), b: tf.ones([2, 4]), x: tf.zeros([2, 4], 'int32') };
    const before = tf.memory().numTensors;
    expect(() => fusedAddLayerNorm(x, bad.r, g, g, EPS)).toThrow(ShapeError);
    expect(() => fusedAddLayerNorm(x, null, bad.g, g, EPS)).toThrow(/gamma must be \[4\]/);
    expect(() => fusedAddLayerNorm(x, null, g, bad.b, EPS)).toThrow(/beta must be \[4\]/);
    expect(() => fusedAddLayerNorm(bad.x, null, g, g, EPS)).toThrow(DataError);
    expect(() => fusedAddLayerNorm(x, null, g, g, 0)).toThrow(ConfigError);
    expect(() => fusedAddLayerNorm(x, null, g, g, Number.NaN)).toThrow(/epsilon/);
    expect(tf.memory().numTensors).toBe(before);
    tf.env().set(FUSED_LAYER_NORM_FLAG, false);
    expect(fusedLayerNormAvailable()).toBe(false);
    expect(() => fusedAddLayerNorm(x, null, g, g, EPS)).toThrow(ConfigError);
    tf.dispose([x, g, ...Object.values(bad)]);
  });

  if (backend === 'wasm') {
    it('gives the same bits on cpu as on wasm (one kernel, in place or copied)', async () => {
      const make = () => [
        randomTensor(23, [3, 5, 12]),
        randomTensor(24, [3, 5, 12]),
        randomTensor(25, [12]),
        randomTensor(26, [12]),
        randomTensor(27, [3, 5, 12]),
      ];
      const onWasm = tf.tidy(() => {
        const [x, r, g, b, dy] = make();
        return run(x, r, g, b, dy);
      });
      await useBackend('cpu');
      const onCpu = tf.tidy(() => {
        const [x, r, g, b, dy] = make();
        return run(x, r, g, b, dy);
      });
      await useBackend('wasm');
      for (const [i, v] of onWasm.entries()) expect(Array.from(onCpu[i])).toEqual(Array.from(v));
    });
  }
});

it('src/layer-norm-wasm.ts is what wasm/layer-norm.wat.mjs assembles to', async () => {
  const source = layerNormModuleSource(
    await assembleLayerNorm(),
    await assembleLayerNorm({ importMemory: true }),
  );
  expect(readFileSync(new URL('./layer-norm-wasm.ts', import.meta.url), 'utf8')).toBe(source);
});
