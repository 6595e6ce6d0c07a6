// What the main thread and the data-parallel workers share: the control words (Int32Array on
// a SharedArrayBuffer), the layout of a shard's result, and the messages. One definition for
// both sides (data-parallel.ts, data-parallel-worker.ts).

import { MAX_SHARDS, type ShardResult } from './shards.js';

/** Control words. */
export const SEQ = 0; // number of the newest job (a worker never claims a shard of an older one)
export const FAULT = 1; // test hook: 1 throw, 2 exit the thread, 3 hang, in the next shard a worker takes
export const WORKER_STATE = 8; // one word per worker: STARTING, UP, GONE
export const MAX_WORKERS = 32;
export const STATES = WORKER_STATE + MAX_WORKERS; // one word per shard: tag·8 + status
export const CONTROL_WORDS = STATES + MAX_SHARDS;

/** A worker's state. */
export const STARTING = 0;
export const UP = 1;
export const GONE = 2;

/** A shard's status (low 3 bits of its word; the job's tag above them). */
export const FREE = 0;
export const MAIN = 1;
export const WORKER = 2;
export const DONE = 3;
export const FAILED = 4;

/** The tag of job `seq` in a shard's word. */
export const tagOf = (seq: number): number => (seq & 0xffffff) * 8;

/** Bytes of a shard's loss terms (JSON) in its result. */
const TERMS_BYTES = 16384;

/**
 * A shard's result in the results buffer: the gradients of every trainable variable one after
 * the other (float32), one presence word per variable, the terms' JSON length, the JSON.
 */
export class ResultLayout {
  readonly floats: number;
  readonly bytesPerShard: number;
  constructor(readonly sizes: readonly number[]) {
    this.floats = sizes.reduce((a, b) => a + b, 0);
    this.bytesPerShard = 4 * (this.floats + sizes.length + 1) + TERMS_BYTES;
  }

  /** Writes shard `s`'s result and its compute time (ms) into `buffer` (throws if its terms do not fit). */
  write(buffer: SharedArrayBuffer, s: number, result: ShardResult, ms: number): void {
    const base = s * this.bytesPerShard;
    const floats = new Float32Array(buffer, base, this.floats);
    const words = new Int32Array(buffer, base + 4 * this.floats, this.sizes.length + 1);
    let at = 0;
    this.sizes.forEach((size, v) => {
      const g = result.gradients[v];
      words[v] = g ? 1 : 0;
      if (g) floats.set(g, at);
      at += size;
    });
    const json = new TextEncoder().encode(JSON.stringify({ terms: result.terms, ms }));
    if (json.length > TERMS_BYTES) throw new RangeError('loss terms: too many to return');
    words[this.sizes.length] = json.length;
    new Uint8Array(buffer, base + 4 * (this.floats + this.sizes.length + 1), json.length).set(json);
  }

  /** Shard `s`'s result and its compute time, copied out of `buffer`. */
  read(buffer: SharedArrayBuffer, s: number): { result: ShardResult; ms: number } {
    const base = s * this.bytesPerShard;
    const floats = new Float32Array(buffer, base, this.floats);
    const words = new Int32Array(buffer, base + 4 * this.floats, this.sizes.length + 1);
    let at = 0;
    const gradients = this.sizes.map((size, v) => {
      const g = words[v] ? floats.slice(at, at + size) : null;
      at += size;
      return g;
    });
    const bytes = new Uint8Array(
      buffer,
      base + 4 * (this.floats + this.sizes.length + 1),
      words[this.sizes.length],
    );
    // a SharedArrayBuffer view cannot be decoded in place
    const { terms, ms } = JSON.parse(new TextDecoder().decode(bytes.slice())) as {
      terms: [string, number][];
      ms: number;
    };
    return { result: { terms, gradients }, ms };
  }
}

/** A batch field sent to the workers: its values and shape. */
export interface FieldData {
  data: Float32Array | Int32Array | Uint8Array;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
}

/** One step, posted to every worker that is up. */
export interface JobMessage {
  seq: number;
  seed: number;
  weights: Record<string, number>;
  /** Every model weight (`namedWeights()` order), one after the other. */
  params: Float32Array;
  /** `JSON.stringify(model.trainingState())` when it changed since the last job. */
  state?: string;
  bounds: number[];
  batch: Record<string, FieldData>;
  /**
   * Whether the main thread's SIMD kernels use fused multiply-adds now (@setgen/ops
   * `setWasmFma`): the worker computes with the same variant, so a shard gives the same bits
   * on either thread (V8's flags are process-wide: what validates there validates here).
   */
  wasmFma: boolean;
}

/** What a worker is started with. */
export interface WorkerInit {
  index: number;
  className: string;
  config: Record<string, unknown>;
  setup?: string;
  backend: string;
  backendModule?: string;
  flags: Record<string, number | boolean | string>;
  control: SharedArrayBuffer;
  results: SharedArrayBuffer;
  sizes: number[];
}
