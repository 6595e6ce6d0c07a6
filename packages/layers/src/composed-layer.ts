// A layer made of its own weights and whole sub-layers (ISAB = I + two MABs, PMA, ABL), as
// tfjs-layers' Bidirectional is: the sub-layers are built inside it, their weights appear in
// its trainable/non-trainable weights, getWeights/setWeights and saved models, and they are
// disposed with it (Layer.disposeWeights disposes `this.weights`).

import type { LayerVariable } from '@tensorflow/tfjs-layers';
import { layers } from '@tensorflow/tfjs-layers';

/** A weight of the layer itself, or a whole sub-layer, in getWeights() order. */
export type WeightPart = LayerVariable | layers.Layer;

function isLayer(part: WeightPart): part is layers.Layer {
  return part instanceof layers.Layer;
}

export abstract class ComposedLayer extends layers.Layer {
  /** Own weights and sub-layers in the documented getWeights() order (weights exist after build). */
  protected abstract weightOrder(): (WeightPart | null | undefined)[];

  private weightParts(): WeightPart[] {
    return this.weightOrder().filter((p): p is WeightPart => p !== null && p !== undefined);
  }

  private sublayers(): layers.Layer[] {
    return this.weightParts().filter(isLayer);
  }

  override get trainableWeights(): LayerVariable[] {
    if (!this.trainable) return [];
    return this.weightParts().flatMap((p) => (isLayer(p) ? p.trainableWeights : p.trainable ? [p] : []));
  }

  override get nonTrainableWeights(): LayerVariable[] {
    if (!this.trainable) return this.weightParts().flatMap((p) => (isLayer(p) ? p.weights : [p]));
    return this.weightParts().flatMap((p) => (isLayer(p) ? p.nonTrainableWeights : p.trainable ? [] : [p]));
  }

  override setFastWeightInitDuringBuild(value: boolean): void {
    super.setFastWeightInitDuringBuild(value);
    for (const layer of this.sublayers()) layer.setFastWeightInitDuringBuild(value);
  }
}
