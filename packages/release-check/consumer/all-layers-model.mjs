// Builds one tfjs-layers model that uses every layer class of @setgen/layers and saves it as
// JSON (topology, weight specs, base64 weights): the saved model that a bundled app, which
// imports a single factory, must be able to load. Run with the installed packages:
//   node all-layers-model.mjs <out.json>
// It also records the class names that `import '@setgen/layers'` registers with tfjs.
import { writeFileSync } from 'node:fs';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

const before = new Set(Object.keys(tf.serialization.SerializationMap.getMap().classNameMap));
const L = await import('@setgen/layers');
const registered = Object.keys(tf.serialization.SerializationMap.getMap().classNameMap).filter(
  (name) => !before.has(name),
);

await tf.setBackend('cpu');
const D = 4;
const x = tfl.input({ shape: [null, D], name: 'set' });
const z = tfl.input({ shape: [3], name: 'latent' });
const c = tfl.input({ shape: [2], name: 'condition' });

const sab = L.sab({ units: 8, numHeads: 2, seed: 1 }).apply(x);
const isab = L.isab({ units: 8, numHeads: 2, numInducingPoints: 2, seed: 2 }).apply(sab);
const mab = L.mab({ units: 8, numHeads: 2, seed: 3 }).apply([isab, sab]);
const abl = L.abl({
  units: 8,
  latentDim: 2,
  numHeads: 2,
  numInducingPoints: 2,
  conditionalPrior: false,
  seed: 4,
}).apply(mab);
const filmed = L.film({ seed: 5 }).apply([abl, c]);
const pooled = L.pma({ units: 8, numHeads: 2, numSeeds: 1, seed: 6 }).apply(filmed);
const fspooled = L.fspool({ numPieces: 3, seed: 7 }).apply(filmed);
const meanPooled = L.setPoolingLayer({ mode: 'mean' }).apply(filmed);
const encoded = L.fsEncoder({ hiddenUnits: 4, outputDim: 3, numPieces: 3, seed: 13 }).apply(x);
const prior = new L.MixtureOfGaussiansPrior({ numComponents: 2, dim: 2, seed: 8 });
const creations = [
  new L.IidCreation({ featureDim: 2, prior, maxSize: 3, seed: 9 }),
  L.topNCreation({ referenceSize: 5, angleDim: 2, featureDim: 2, maxSize: 3, seed: 10 }),
  L.firstNCreation({ featureDim: 2, maxSize: 3, seed: 11 }),
  L.mlpCreation({ featureDim: 2, maxSize: 3, hiddenUnits: 4, seed: 12 }),
].map((layer) => layer.apply(z));

const model = tfl.model({
  inputs: [x, z, c],
  outputs: [pooled, fspooled, meanPooled, encoded, ...creations.flat()],
  name: 'all_setgen_layers',
});
let saved;
await model.save(
  tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }),
);
const inputs = [
  tf.randomNormal([2, 5, D], 0, 1, 'float32', 1),
  tf.randomNormal([2, 3], 0, 1, 'float32', 2),
  tf.randomNormal([2, 2], 0, 1, 'float32', 3),
];
const outputs = model.predict(inputs).map((t) => Array.from(t.dataSync()));
writeFileSync(
  process.argv[2],
  JSON.stringify({
    registered,
    topology: saved.modelTopology,
    weightSpecs: saved.weightSpecs,
    weights: Buffer.from(saved.weightData).toString('base64'),
    inputs: inputs.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) })),
    outputs,
  }),
);
