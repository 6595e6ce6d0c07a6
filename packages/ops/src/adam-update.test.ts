import { describeBackends, expectNoLeak, randomTensor, testRandom } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { adamModuleSource, assembleAdam } from '../wasm/build.mjs';
import { type AdamStepConstants, adamUpdateAvailable, adamUpdateInJs, adamUpdates } from './adam-update.js';
import { ShapeError } from './errors.js';

/** tfjs's AdamOptimizer update written as its tensor ops (tfjs-core/src/optimizers/adam_optimizer.ts), one variable. */
function tfjsAdam(value: tf.Tensor, gradient: tf.Tensor, m: tf.Tensor, v: tf.Tensor, c: AdamStepConstants) {
  return tf.tidy(() => {
    const g = tf.mul(gradient, c.gradientScale ?? 1);
    const m1 = tf.add(tf.mul(m, c.beta1), tf.mul(g, 1 - c.beta1));
    const v1 = tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
    const mHat = tf.div(m1, tf.sub(1, tf.scalar(c.accBeta1)));
    const vHat = tf.div(v1, tf.sub(1, tf.scalar(c.accBeta2)));
    const x1 = tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), c.epsilon)), -c.learningRate), value);
    return [x1, m1, v1];
  });
}

const bits = (t: tf.Tensor) => Array.from(new Uint32Array(new Float32Array(t.dataSync()).buffer));

const CONSTANTS: AdamStepConstants = {
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  learningRate: 2e-4,
  accBeta1: 0.9 ** 7,
  accBeta2: 0.999 ** 7,
};

/** Operands of `shape`: values, gradients spanning many magnitudes (tiny ones too), moments ≥ 0 for v. */
function operands(seed: number, shape: number[]) {
  const rand = testRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const spread = (scale: number) =>
    tf.tensor(
      Array.from({ length: size }, () => (rand() - 0.5) * scale * 10 ** Math.floor(rand() * 12 - 8)),
      shape,
    );
  return {
    value: randomTensor(seed + 1, shape),
    gradient: spread(2),
    m: spread(1),
    v: tf.abs(spread(1)),
  };
}

describeBackends('adamUpdates', (backend) => {
  it('is bit-identical to tfjs AdamOptimizer’s ops for every variable, vector and scalar tails, clipping scale', async () => {
    expect(adamUpdateAvailable()).toBe(true);
    // sizes 1, 3 (tails only), 4, 7, 4096 + 5 (vectors, then a tail)
    const shapes = [[1], [3], [2, 2], [7], [64, 64], [5]];
    for (const gradientScale of [undefined, 0.37]) {
      const c = { ...CONSTANTS, gradientScale };
      const vars = shapes.map((shape, i) => operands(10 * i + (gradientScale ? 1 : 0), shape));
      const ours = adamUpdates(vars, c);
      vars.forEach((o, i) => {
        const theirs = tfjsAdam(o.value, o.gradient, o.m, o.v, c);
        ['value', 'm', 'v'].forEach((name, k) => {
          expect(bits(ours[i][k]), `${backend} variable ${i} ${name}' (scale ${gradientScale})`).toEqual(
            bits(theirs[k]),
          );
        });
        tf.dispose(theirs);
      });
      tf.dispose(ours.flat());
      tf.dispose(vars.flatMap((o) => Object.values(o)));
    }
  });

  it('the JavaScript loop (no SIMD module) gives the same bits as the kernel', () => {
    const o = operands(3, [1031]);
    const [kernel] = adamUpdates([o], { ...CONSTANTS, gradientScale: 0.5 });
    const inputs = [o.value, o.gradient, o.m, o.v].map((t) => new Float32Array(t.dataSync()));
    const outputs = [0, 1, 2].map(() => new Float32Array(1031));
    const f = Math.fround;
    adamUpdateInJs(
      inputs,
      outputs,
      [0.9, 0.999, 0.1, 0.001, 1 - f(0.9 ** 7), 1 - f(0.999 ** 7), 1e-8, -2e-4, 0.5].map(f),
    );
    kernel.forEach((t, k) => {
      expect(Array.from(new Uint32Array(outputs[k].buffer))).toEqual(bits(t));
    });
    tf.dispose([...kernel, ...Object.values(o)]);
  });

  it('leaves its inputs unchanged and no tensor behind; a bad operand is a typed error that leaks nothing', async () => {
    const o = operands(5, [9, 3]);
    const before = [o.value, o.gradient, o.m, o.v].map(bits);
    await expectNoLeak(() => tf.dispose(adamUpdates([o], CONSTANTS).flat()));
    expect([o.value, o.gradient, o.m, o.v].map(bits)).toEqual(before);
    const wrong = tf.zeros([3, 9]);
    const ints = tf.zeros([9, 3], 'int32');
    await expectNoLeak(() => {
      expect(() => adamUpdates([o, { ...o, m: wrong }], CONSTANTS)).toThrow(ShapeError);
      expect(() => adamUpdates([{ ...o, gradient: ints }], CONSTANTS)).toThrow(
        /variables\[0\]\.gradient .*float32/,
      );
    });
    expect(adamUpdates([], CONSTANTS)).toEqual([]);
    tf.dispose([wrong, ints, ...Object.values(o)]);
  });
});

it('src/adam-wasm.ts is what wasm/adam.wat.mjs assembles to', async () => {
  const { readFileSync } = await import('node:fs');
  const source = adamModuleSource(await assembleAdam(), await assembleAdam({ importMemory: true }));
  expect(readFileSync(new URL('./adam-wasm.ts', import.meta.url), 'utf8')).toBe(source);
});
