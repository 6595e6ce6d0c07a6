// Checkpoints in the tfjs artifact format (model.json + one weight buffer), so any
// `tf.io` IOHandler can store them: the model's weights, the optimizer's state (step and
// Adam moments) and the training position, which together make a resume exact.

import { ConfigError, DataError, formatShape } from '@setgen/ops';
import { io, type NamedTensorMap, type Tensor } from '@tensorflow/tfjs-core';

/** `format` of the artifacts, checked on load. */
export const CHECKPOINT_FORMAT = 'setgen-checkpoint';
const CHECKPOINT_VERSION = 1;

/** Where training stopped: steps taken, epochs done (fractional inside an epoch). */
export interface TrainingPosition {
  step: number;
  epoch: number;
  /** Set sizes seen in training as `[size, count]` pairs (SetVAE samples cardinalities from them). */
  cardinalities?: [number, number][];
}

/** What a checkpoint holds. Tensors are read, not disposed, by `writeCheckpoint`. */
export interface Checkpoint {
  /** Class name, e.g. 'SetVAE'; loading into another class is refused. */
  modelClass: string;
  /** The model's `getConfig()`; must be JSON. */
  config: object;
  training: TrainingPosition;
  /** Model weights by name. */
  weights: { name: string; tensor: Tensor }[];
  /** Optimizer weights in `optimizer.getWeights()` order (empty before the first step). */
  optimizer: { name: string; tensor: Tensor }[];
}

interface CheckpointTopology {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  modelClass: string;
  config: object;
  training: TrainingPosition;
  modelWeights: string[];
  optimizerWeights: string[];
  weightsByteLength: number;
  weightsChecksum: number;
}

/** FNV-1a over the weight bytes: a torn or altered weights file fails loudly. */
function checksum(buffer: ArrayBuffer): number {
  const bytes = new Uint8Array(buffer);
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i];
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function joinBuffers(data: ArrayBuffer | ArrayBuffer[] | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return Array.isArray(data) ? io.concatenateArrayBuffers(data) : data;
}

/** A handler from a handler or a URL/path (a path needs the router of `@setgen/models/node`). */
export function resolveHandler(handlerOrPath: io.IOHandler | string, mode: 'save' | 'load'): io.IOHandler {
  if (typeof handlerOrPath !== 'string') {
    const fn = mode === 'save' ? handlerOrPath?.save : handlerOrPath?.load;
    if (typeof fn !== 'function') {
      throw new ConfigError(
        `handlerOrPath: expected a path string or a tf.io.IOHandler with ${mode}(), got ${typeof handlerOrPath}`,
      );
    }
    return handlerOrPath;
  }
  const handlers = mode === 'save' ? io.getSaveHandlers(handlerOrPath) : io.getLoadHandlers(handlerOrPath);
  if (handlers.length === 0) {
    throw new ConfigError(
      `handlerOrPath: no tf.io ${mode} handler for ${JSON.stringify(handlerOrPath)}; in Node import '@setgen/models/node' ` +
        `(it routes file paths and file:// URLs), or pass an IOHandler`,
    );
  }
  return handlers[0];
}

/** Serialises a checkpoint through `handler` (the tensors are only read). */
export async function writeCheckpoint(handler: io.IOHandler, checkpoint: Checkpoint): Promise<void> {
  const named = [
    ...checkpoint.weights.map((w) => ({ name: `model/${w.name}`, tensor: w.tensor })),
    ...checkpoint.optimizer.map((w) => ({ name: `optimizer/${w.name}`, tensor: w.tensor })),
  ];
  const { data, specs } = await io.encodeWeights(named);
  const weightData = joinBuffers(data as ArrayBuffer | ArrayBuffer[]);
  const topology: CheckpointTopology = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    modelClass: checkpoint.modelClass,
    config: checkpoint.config,
    training: { ...checkpoint.training },
    modelWeights: checkpoint.weights.map((w) => w.name),
    optimizerWeights: checkpoint.optimizer.map((w) => w.name),
    weightsByteLength: weightData.byteLength,
    weightsChecksum: checksum(weightData),
  };
  await handler.save!({
    modelTopology: topology as unknown as io.ModelArtifacts['modelTopology'],
    format: CHECKPOINT_FORMAT,
    generatedBy: '@setgen/models',
    weightSpecs: specs,
    weightData,
  });
}

/** A checkpoint read back: the tensors are new and owned by the caller. */
export interface LoadedCheckpoint {
  modelClass: string;
  config: Record<string, unknown>;
  training: TrainingPosition;
  weights: NamedTensorMap;
  optimizer: { name: string; tensor: Tensor }[];
}

/** Reads and validates a checkpoint; throws `DataError` on anything malformed, allocating nothing then. */
export async function readCheckpoint(
  handler: io.IOHandler,
  expectedClass: string,
): Promise<LoadedCheckpoint> {
  const artifacts = await handler.load!();
  const topology = artifacts.modelTopology as unknown as CheckpointTopology | undefined;
  if (!topology || typeof topology !== 'object' || topology.format !== CHECKPOINT_FORMAT) {
    throw new DataError(
      `checkpoint: expected model.json with format '${CHECKPOINT_FORMAT}', got ${JSON.stringify((topology as { format?: unknown } | undefined)?.format ?? artifacts.format)}`,
    );
  }
  if (topology.version !== CHECKPOINT_VERSION) {
    throw new DataError(
      `checkpoint: expected version ${CHECKPOINT_VERSION}, got ${JSON.stringify(topology.version)}`,
    );
  }
  if (topology.modelClass !== expectedClass) {
    throw new DataError(`checkpoint: holds a ${topology.modelClass}, expected a ${expectedClass}`);
  }
  const specs = artifacts.weightSpecs ?? [];
  const data = joinBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[] | undefined);
  let expectedBytes = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32' && spec.dtype !== 'int32') {
      throw new DataError(`checkpoint: weight ${spec.name} has unsupported dtype ${spec.dtype}`);
    }
    if (spec.quantization) throw new DataError(`checkpoint: weight ${spec.name} is quantized; not supported`);
    expectedBytes += 4 * spec.shape.reduce((a, b) => a * b, 1);
  }
  if (data.byteLength !== expectedBytes || data.byteLength !== topology.weightsByteLength) {
    throw new DataError(
      `checkpoint: weight data has ${data.byteLength} bytes, expected ${expectedBytes} (manifest) and ${topology.weightsByteLength} (model.json)`,
    );
  }
  if (checksum(data) !== topology.weightsChecksum) {
    throw new DataError('checkpoint: weight data checksum mismatch (file corrupted or from another save)');
  }
  const names = new Set(specs.map((s) => s.name));
  for (const name of [
    ...topology.modelWeights.map((n) => `model/${n}`),
    ...topology.optimizerWeights.map((n) => `optimizer/${n}`),
  ]) {
    if (!names.has(name))
      throw new DataError(`checkpoint: weight ${name} listed in model.json is missing from the manifest`);
  }
  const decoded = io.decodeWeights(data, specs);
  const weights: NamedTensorMap = {};
  for (const name of topology.modelWeights) weights[name] = decoded[`model/${name}`];
  const optimizer = topology.optimizerWeights.map((name) => ({ name, tensor: decoded[`optimizer/${name}`] }));
  const used = new Set([...Object.values(weights), ...optimizer.map((w) => w.tensor)]);
  for (const t of Object.values(decoded)) if (!used.has(t)) t.dispose();
  return {
    modelClass: topology.modelClass,
    config: topology.config as Record<string, unknown>,
    training: {
      step: topology.training.step,
      epoch: topology.training.epoch,
      cardinalities: topology.training.cardinalities ?? [],
    },
    weights,
    optimizer,
  };
}

/** Checks that `loaded` weights match `expected` shapes exactly (names and shapes). */
export function checkWeightShapes(
  loaded: NamedTensorMap,
  expected: { name: string; shape: number[] }[],
): void {
  const names = Object.keys(loaded);
  if (names.length !== expected.length) {
    throw new DataError(`checkpoint: holds ${names.length} model weights, the model has ${expected.length}`);
  }
  for (const { name, shape } of expected) {
    const t = loaded[name];
    if (!t) throw new DataError(`checkpoint: weight ${name} is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new DataError(
        `checkpoint: weight ${name} has shape ${formatShape(t.shape)}, the model expects ${formatShape(shape)}`,
      );
    }
  }
}
