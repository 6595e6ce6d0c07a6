export { readNpy, writeNpy, type NpyArray, type NpyData, type NpyDtype } from '@setgen/ops';
export { type BatchOptions, type DatasetBatch, batchIndices, batches, toTfDataGenerator } from './batches.js';
export {
  CLEVR_CLASSES,
  type ClevrDataset,
  type ClevrEncoding,
  type ClevrObject,
  type ClevrScene,
  clevrSceneToSet,
  clevrScenesToSets,
} from './clevr.js';
export type { SetDataset } from './dataset.js';
export { type IdxArray, readIdx } from './idx.js';
export { type MnistImages, bundledMnistDigits, mnistImagesFromIdx } from './mnist-images.js';
export { type PolygonsDataset, type PolygonsOptions, polygons } from './polygons.js';
export {
  MNIST_SPLIT_SEED,
  MNIST_TEST_FRACTION,
  type PixelConvention,
  type PixelLayout,
  type PixelsToSetOptions,
  type SetMnistDataset,
  type SetMnistOptions,
  type Split,
  mnistSplitIndices,
  setMnist,
} from './set-mnist.js';
export { type SetMultiMnistDataset, type SetMultiMnistOptions, setMultiMnist } from './set-multi-mnist.js';
export {
  type SyntheticMoleculesDataset,
  type SyntheticMoleculesOptions,
  syntheticMolecules,
} from './synthetic-molecules.js';
export { type PadOptions, type PaddedSets, padSets, toSetBatch } from './to-set-batch.js';
