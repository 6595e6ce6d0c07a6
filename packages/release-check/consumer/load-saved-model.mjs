// A small app that imports a single factory of @setgen/layers and loads a saved model that
// uses every layer class: bundled with esbuild (tree shaking on), then run. Prints JSON.
import { readFileSync } from 'node:fs';
import '@tensorflow/tfjs-backend-cpu';
import { isab } from '@setgen/layers';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

const saved = JSON.parse(readFileSync(process.argv[2], 'utf8'));
await tf.setBackend('cpu');
const weightData = new Uint8Array(Buffer.from(saved.weights, 'base64')).buffer;
const registered = Object.keys(tf.serialization.SerializationMap.getMap().classNameMap);
let outputs = null;
let error = null;
try {
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({ modelTopology: saved.topology, weightSpecs: saved.weightSpecs, weightData }),
  );
  const inputs = saved.inputs.map((t) => tf.tensor(t.values, t.shape));
  outputs = model.predict(inputs).map((t) => Array.from(t.dataSync()));
} catch (e) {
  error = e.message;
}
console.log(JSON.stringify({ factory: typeof isab, registered, outputs, error }));
