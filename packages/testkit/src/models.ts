// Saving a tfjs-layers model to memory, for save → load round-trip tests.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/** `model.save` into memory; returns the artifacts (`tf.io.fromMemory(artifacts)` loads them). */
export async function saveToMemory(model: LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved) throw new Error('model.save did not call the save handler');
  return saved;
}
