// What a new user runs first, against the installed tarballs (no workspace, no mnist):
// ISAB + Chamfer on the wasm backend, metrics on the host, every exports entry through
// import() and require(), and Set-MNIST without digits. Prints one JSON object.
import { createRequire } from 'node:module';
import '@tensorflow/tfjs-backend-wasm';
import { mnistImagesFromIdx, setMnist } from '@setgen/data';
import { isab } from '@setgen/layers';
import { computeAllMetrics } from '@setgen/metrics';
import { chamferDistance, Random, writeNpy } from '@setgen/ops';
import * as tf from '@tensorflow/tfjs-core';

const [entriesJson, npyA, npyB] = process.argv.slice(2);
const result = {};
if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
result.backend = tf.getBackend();

// ISAB on a [2, 5, 3] batch, then Chamfer between its output and the input's first 3 features.
const random = new Random(7);
const values = Float32Array.from({ length: 2 * 5 * 3 }, () => random.normal());
const x = tf.tensor3d(values, [2, 5, 3]);
const layer = isab({ units: 3, numHeads: 1, numInducingPoints: 2, seed: 1 });
const y = layer.apply(x);
result.isabShape = y.shape;
const yValues = y.dataSync();
result.isabFinite = yValues.every(Number.isFinite);
const cd = chamferDistance(x, y);
result.chamfer = cd.dataSync()[0];
// the same Chamfer (squared distances, mean over points, mean over the batch) by hand
let expected = 0;
for (let b = 0; b < 2; b++) {
  const at = (v, i) => v.subarray((b * 5 + i) * 3, (b * 5 + i + 1) * 3);
  const nearest = (p, other) =>
    Math.min(
      ...Array.from({ length: 5 }, (_, j) => at(other, j).reduce((s, v, k) => s + (v - p[k]) ** 2, 0)),
    );
  for (let i = 0; i < 5; i++)
    expected += (nearest(at(values, i), yValues) + nearest(at(yValues, i), values)) / 5 / 2;
}
result.chamferByHand = expected;
tf.dispose([x, y, cd]);
layer.dispose();

// Host metrics from the library (the CLI must agree), and two .npy files for it.
const clouds = (seed) => {
  const r = new Random(seed);
  return Array.from({ length: 4 }, () => ({
    values: Float32Array.from({ length: 6 * 3 }, () => r.normal()),
    n: 6,
    d: 3,
  }));
};
const a = clouds(1);
const b = clouds(2);
const { writeFileSync } = await import('node:fs');
const flat = (sets) => Float32Array.from(sets.flatMap((s) => Array.from(s.values)));
writeFileSync(npyA, writeNpy(flat(a), [4, 6, 3]));
writeFileSync(npyB, writeNpy(flat(b), [4, 6, 3]));
result.metrics = await computeAllMetrics(a, b, { distances: ['cd', 'emd'] });

// Set-MNIST: no digits are installed, so a ConfigError says how to get them; given images, it works.
try {
  setMnist({ split: 'train' });
  result.mnistError = null;
} catch (error) {
  result.mnistError = { name: error.constructor.name, message: error.message };
}
const idx = (magic, shape, data) => {
  const bytes = new Uint8Array(4 + 4 * shape.length + data.length);
  bytes.set([0, 0, 8, magic]);
  const view = new DataView(bytes.buffer);
  for (const [k, s] of shape.entries()) view.setUint32(4 + 4 * k, s);
  bytes.set(data, 4 + 4 * shape.length);
  return bytes;
};
const images = mnistImagesFromIdx(idx(3, [1, 2, 2], [0, 255, 255, 0]), idx(1, [1], [7]));
result.mnistFromIdx = setMnist({ split: 'all', images, jitter: false }).sets[0].n;

// Every exports entry of every package loads through import() and through require() (require(esm)).
const require = createRequire(import.meta.url);
result.entries = {};
for (const specifier of JSON.parse(entriesJson)) {
  const imported = Object.keys(await import(specifier)).length;
  let required;
  try {
    required = Object.keys(require(specifier)).length;
  } catch (error) {
    required = `${error.code ?? ''} ${error.message}`;
  }
  result.entries[specifier] = { imported, required };
}
console.log(JSON.stringify(result));
