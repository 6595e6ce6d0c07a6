// A tf.io handler that keeps one checkpoint in memory (a copy, so later edits of the saved
// artifacts through `artifacts()` are what `load` sees), for save → load tests.
import * as tf from '@tensorflow/tfjs-core';

export function memoryHandler() {
  let stored: tf.io.ModelArtifacts | null = null;
  const handler: tf.io.IOHandler = {
    save: async (artifacts) => {
      stored = JSON.parse(JSON.stringify({ ...artifacts, weightData: undefined }));
      (stored as tf.io.ModelArtifacts).weightData = (artifacts.weightData as ArrayBuffer).slice(0);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    load: async () => {
      if (!stored) throw new Error('nothing saved');
      return stored;
    },
  };
  return { handler, artifacts: () => stored as tf.io.ModelArtifacts };
}
