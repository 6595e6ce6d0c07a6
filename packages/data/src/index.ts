export { type NpyArray, type NpyData, type NpyDtype, readNpy, writeNpy } from '@setgen/ops';
export {
  type BatchOptions,
  batches,
  batchIndices,
  type DatasetBatch,
  type EpochBatches,
  epochBatches,
  toTfDataGenerator,
} from './batches.js';
export {
  CLEVR_CLASSES,
  type ClevrDataset,
  type ClevrEncoding,
  type ClevrObject,
  type ClevrScene,
  clevrScenesToSets,
  clevrSceneToSet,
} from './clevr.js';
export type { SetDataset } from './dataset.js';
export { type IdxArray, readIdx } from './idx.js';
export {
  type MnistImages,
  type ModuleResolver,
  mnistImagesFromIdx,
  mnistPackageDigits,
} from './mnist-images.js';
export { type PolygonsDataset, type PolygonsOptions, polygons } from './polygons.js';
export {
  MNIST_SPLIT_SEED,
  MNIST_TEST_FRACTION,
  mnistSplitIndices,
  type PixelConvention,
  type PixelLayout,
  type PixelsToSetOptions,
  type SetMnistDataset,
  type SetMnistOptions,
  type Split,
  setMnist,
} from './set-mnist.js';
export { type SetMultiMnistDataset, type SetMultiMnistOptions, setMultiMnist } from './set-multi-mnist.js';
export {
  type SyntheticMoleculesDataset,
  type SyntheticMoleculesOptions,
  syntheticMolecules,
} from './synthetic-molecules.js';
export { type PaddedSets, type PadOptions, padSets, toSetBatch } from './to-set-batch.js';
