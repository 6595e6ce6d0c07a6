import { type TensorContainer, tidy } from '@tensorflow/tfjs-core';

/** `tf.tidy` for a model's result interfaces (plain objects and arrays of tensors). */
export function tidyObject<T>(fn: () => T): T {
  return tidy(fn as unknown as () => TensorContainer) as unknown as T;
}
