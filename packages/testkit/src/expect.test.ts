import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { expect, it } from 'vitest';
import { expectClose } from './expect.js';

it('expectClose accepts values within atol + rtol·|expected| and names the worst element otherwise', () => {
  expect(() => expectClose([1, 2.0001], [1, 2], { rtol: 1e-4, atol: 0 })).not.toThrow();
  expect(() => expectClose(3, 3.5, { atol: 0.6, rtol: 0 })).not.toThrow();
  expect(() => expectClose([1, 2.1, 3], [1, 2, 3], { rtol: 0, atol: 0.01 })).toThrow(
    /element 1: got 2.1, expected 2/,
  );
  expect(() => expectClose([1, 2], [1, 2, 3])).toThrow(/length/);
});

it('expectClose refuses tensors instead of comparing two empty lists', async () => {
  await tf.setBackend('cpu');
  const a = tf.tensor1d([1, 2]);
  const b = tf.tensor1d([5, 6]);
  expect(() => expectClose(a as unknown as number[], b.dataSync())).toThrow(
    /actual must be a number or an array/,
  );
  expect(() => expectClose(a.dataSync(), b as unknown as number[])).toThrow(
    /expected must be a number or an array/,
  );
  tf.dispose([a, b]);
});
