// Checkpoints in the tfjs artifact format (model.json + one weight buffer), so any `tf.io`
// IOHandler can store them: the model's weights, the optimizer's state and the training
// position, which together make a resume exact. Version 2 checksums the whole record
// (class, config, position, weight names, shapes and bytes), so an edited or torn
// checkpoint fails loudly; version 1 (today's SetVAE checkpoints) still loads.

import { ConfigError, DataError } from '@setgen/ops';
import { io, type NamedTensorMap, type Tensor } from '@tensorflow/tfjs-core';
import { MAX_SHARDS } from './shards.js';
import type { TrainingPosition } from './trainer.js';

/** `format` of the artifacts, checked on load. */
export const CHECKPOINT_FORMAT = 'setgen-checkpoint';
const CHECKPOINT_VERSION = 2;

/** The training record of a checkpoint: position, schedule state, the model's own opaque state. */
export interface TrainingRecord extends TrainingPosition {
  /** State of the learning-rate schedule (reduce-on-plateau), if it has one. */
  schedule?: Record<string, unknown>;
  /** What the model's `trainingState()` returned. */
  model?: Record<string, unknown>;
}

/** What a checkpoint holds. Tensors are read, not disposed, by `writeCheckpoint`. */
export interface Checkpoint {
  /** The model's `className`; `loadModel` rebuilds that class. */
  modelClass: string;
  /** The model's `getConfig()`; must be JSON. */
  config: object;
  training: TrainingRecord;
  /** Model weights by name. */
  weights: { name: string; tensor: Tensor }[];
  /** Optimizer weights in `optimizer.getWeights()` order (empty before the first step). */
  optimizer: { name: string; tensor: Tensor }[];
}

interface Topology {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  modelClass: string;
  config: object;
  training: Record<string, unknown>;
  modelWeights: string[];
  optimizerWeights: string[];
  weightsByteLength: number;
  /** v1: FNV-1a of the weight bytes; v2: of the record header and the bytes. */
  weightsChecksum?: number;
  checksum?: number;
}

/** FNV-1a, continued from `hash`. */
function fnv1a(bytes: Uint8Array, hash = 0x811c9dc5): number {
  let h = hash;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** What v2's checksum covers besides the bytes: everything that gives the bytes a meaning. */
function header(topology: Topology, specs: io.WeightsManifestEntry[]): string {
  const { modelClass, config, training, modelWeights, optimizerWeights, weightsByteLength } = topology;
  return JSON.stringify({
    modelClass,
    config,
    training,
    modelWeights,
    optimizerWeights,
    weightsByteLength,
    specs: specs.map((s) => [s.name, s.shape, s.dtype]),
  });
}

function recordChecksum(topology: Topology, specs: io.WeightsManifestEntry[], data: ArrayBuffer): number {
  return fnv1a(new Uint8Array(data), fnv1a(new TextEncoder().encode(header(topology, specs))));
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

/** The first weight holding NaN or ±Infinity, by name (float32 weights only). */
function firstNonFinite(specs: io.WeightsManifestEntry[], data: ArrayBuffer): string | null {
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype === 'float32') {
      const values = new Float32Array(data, offset, size);
      for (let i = 0; i < size; i++) {
        if (!Number.isFinite(values[i])) return `${spec.name} holds ${values[i]} at flat index ${i}`;
      }
    }
    offset += 4 * size;
  }
  return null;
}

/**
 * Serialises a checkpoint through `handler` (the tensors are only read). Refuses, writing
 * nothing, if a weight or optimizer value is not finite.
 */
export async function writeCheckpoint(handler: io.IOHandler, checkpoint: Checkpoint): Promise<void> {
  const named = [
    ...checkpoint.weights.map((w) => ({ name: `model/${w.name}`, tensor: w.tensor })),
    ...checkpoint.optimizer.map((w) => ({ name: `optimizer/${w.name}`, tensor: w.tensor })),
  ];
  const { data, specs } = await io.encodeWeights(named);
  const weightData = joinBuffers(data as ArrayBuffer | ArrayBuffer[]);
  const bad = firstNonFinite(specs, weightData);
  if (bad) throw new DataError(`save: weight ${bad}; refusing to write a non-finite checkpoint`);
  const topology: Topology = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    modelClass: checkpoint.modelClass,
    // through JSON, so the checksum sees exactly what a reader parses
    config: JSON.parse(JSON.stringify(checkpoint.config)),
    training: JSON.parse(JSON.stringify(checkpoint.training)),
    modelWeights: checkpoint.weights.map((w) => w.name),
    optimizerWeights: checkpoint.optimizer.map((w) => w.name),
    weightsByteLength: weightData.byteLength,
  };
  topology.checksum = recordChecksum(topology, specs, weightData);
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
  version: number;
  config: Record<string, unknown>;
  training: TrainingRecord;
  weights: NamedTensorMap;
  optimizer: { name: string; tensor: Tensor }[];
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The training record of a v1 or v2 topology, checked field by field. */
function trainingRecord(topology: Topology): TrainingRecord {
  const t = topology.training;
  if (!isRecord(t)) throw new DataError(`checkpoint: training: expected an object, got ${JSON.stringify(t)}`);
  const { step, epoch } = t;
  if (!isCount(step))
    throw new DataError(`checkpoint: training.step: expected an integer >= 0, got ${JSON.stringify(step)}`);
  if (typeof epoch !== 'number' || !(epoch >= 0 && Number.isFinite(epoch))) {
    throw new DataError(
      `checkpoint: training.epoch: expected a finite number >= 0, got ${JSON.stringify(epoch)}`,
    );
  }
  if (topology.version === 1) {
    // v1 kept SetVAE's training cardinalities beside the position: they are its model state
    const model = t.cardinalities === undefined ? undefined : { cardinalities: t.cardinalities };
    return { step, epoch, epochStep: 0, skipped: 0, model };
  }
  const { epochStep, skipped, schedule, model, shards } = t;
  if (!isCount(epochStep))
    throw new DataError(
      `checkpoint: training.epochStep: expected an integer >= 0, got ${JSON.stringify(epochStep)}`,
    );
  if (!isCount(skipped))
    throw new DataError(
      `checkpoint: training.skipped: expected an integer >= 0, got ${JSON.stringify(skipped)}`,
    );
  if (shards !== undefined && !(isCount(shards) && shards >= 1 && shards <= MAX_SHARDS)) {
    throw new DataError(
      `checkpoint: training.shards: expected an integer in [1, ${MAX_SHARDS}], got ${JSON.stringify(shards)}`,
    );
  }
  for (const [key, value] of Object.entries({ schedule, model })) {
    if (value !== undefined && !isRecord(value)) {
      throw new DataError(`checkpoint: training.${key}: expected an object, got ${JSON.stringify(value)}`);
    }
  }
  return {
    step,
    epoch,
    epochStep: epochStep as number,
    skipped: skipped as number,
    ...(shards !== undefined && shards > 1 ? { shards: shards as number } : {}),
    schedule: schedule as TrainingRecord['schedule'],
    model: model as TrainingRecord['model'],
  };
}

/**
 * Reads and validates a checkpoint (either version); throws `DataError` on anything
 * malformed, allocating no tensor then.
 */
export async function readCheckpoint(handler: io.IOHandler): Promise<LoadedCheckpoint> {
  const artifacts = await handler.load!();
  const topology = artifacts?.modelTopology as unknown as Topology | undefined;
  if (!isRecord(topology) || topology.format !== CHECKPOINT_FORMAT) {
    throw new DataError(
      `checkpoint: expected model.json with format '${CHECKPOINT_FORMAT}', got ${JSON.stringify((topology as { format?: unknown } | undefined)?.format ?? artifacts?.format)}`,
    );
  }
  if (topology.version !== 1 && topology.version !== CHECKPOINT_VERSION) {
    throw new DataError(
      `checkpoint: expected version 1 or ${CHECKPOINT_VERSION}, got ${JSON.stringify(topology.version)}`,
    );
  }
  if (typeof topology.modelClass !== 'string') {
    throw new DataError(
      `checkpoint: modelClass: expected a class name, got ${JSON.stringify(topology.modelClass)}`,
    );
  }
  if (!isRecord(topology.config))
    throw new DataError(`checkpoint: config: expected an object, got ${JSON.stringify(topology.config)}`);
  for (const key of ['modelWeights', 'optimizerWeights'] as const) {
    const names = topology[key];
    if (
      !Array.isArray(names) ||
      !names.every((n) => typeof n === 'string') ||
      new Set(names).size !== names.length
    ) {
      throw new DataError(`checkpoint: ${key}: expected a list of distinct names`);
    }
  }
  const specs = artifacts.weightSpecs ?? [];
  const data = joinBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[] | undefined);
  let expectedBytes = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32' && spec.dtype !== 'int32') {
      throw new DataError(`checkpoint: weight ${spec.name} has unsupported dtype ${spec.dtype}`);
    }
    if (spec.quantization) throw new DataError(`checkpoint: weight ${spec.name} is quantized; not supported`);
    if (!Array.isArray(spec.shape) || !spec.shape.every(isCount)) {
      throw new DataError(
        `checkpoint: weight ${spec.name} has an invalid shape ${JSON.stringify(spec.shape)}`,
      );
    }
    expectedBytes += 4 * spec.shape.reduce((a, b) => a * b, 1);
  }
  if (data.byteLength !== expectedBytes || data.byteLength !== topology.weightsByteLength) {
    throw new DataError(
      `checkpoint: weight data has ${data.byteLength} bytes, expected ${expectedBytes} (manifest) and ${topology.weightsByteLength} (model.json)`,
    );
  }
  const sum = topology.version === 1 ? fnv1a(new Uint8Array(data)) : recordChecksum(topology, specs, data);
  if (sum !== (topology.version === 1 ? topology.weightsChecksum : topology.checksum)) {
    throw new DataError(
      'checkpoint: checksum mismatch: model.json or the weight data was altered or torn (or they come from different saves)',
    );
  }
  const training = trainingRecord(topology);
  const names = new Set(specs.map((s) => s.name));
  const listed = [
    ...topology.modelWeights.map((n) => `model/${n}`),
    ...topology.optimizerWeights.map((n) => `optimizer/${n}`),
  ];
  for (const name of listed) {
    if (!names.has(name))
      throw new DataError(`checkpoint: weight ${name} listed in model.json is missing from the manifest`);
  }
  if (names.size !== specs.length || specs.length !== listed.length) {
    throw new DataError(
      `checkpoint: the manifest holds ${specs.length} weights, model.json lists ${listed.length} distinct names`,
    );
  }
  const decoded = io.decodeWeights(data, specs);
  return {
    modelClass: topology.modelClass,
    version: topology.version,
    config: topology.config as Record<string, unknown>,
    training,
    weights: Object.fromEntries(topology.modelWeights.map((name) => [name, decoded[`model/${name}`]])),
    optimizer: topology.optimizerWeights.map((name) => ({ name, tensor: decoded[`optimizer/${name}`] })),
  };
}
