// Data-parallel training steps over worker threads (Node). `dataParallel(model, { shards })`
// cuts every step's batch into `shards` slices of sets (shards.ts: the numbers depend on the
// count only); worker threads, each holding a replica of the model rebuilt from its class name
// and config, compute shards from the back of the batch while the main thread computes them
// from the front. Everything else of the step (sum of the shards, checks, clipping, optimizer,
// schedules, checkpoints) stays on the main thread, unchanged.
//
// The step stays synchronous, as tfjs kernels are: the weights and the batch go to the workers
// by message (a copy), the shards' states live in shared words (claimed by compare-and-swap,
// tagged with the job's number, as `@setgen/ops`' matrix-product threads do), the results in a
// shared buffer, and the main thread waits with Atomics.wait. A shard a worker failed on, left
// or held too long is computed on the main thread: the result is the same; a worker fault
// gives the workers up for good, with one warning.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConfigError } from '@setgen/ops';
import { checkOptions, is, onOneMatmulThread, wasmFmaEnabled } from '@setgen/ops/internal';
import { env, getBackend, type Tensor } from '@tensorflow/tfjs-core';
import {
  CONTROL_WORDS,
  DONE,
  FAILED,
  FAULT,
  type FieldData,
  FREE,
  type JobMessage,
  MAIN,
  MAX_WORKERS,
  ResultLayout,
  SEQ,
  STARTING,
  STATES,
  tagOf,
  UP,
  WORKER,
  WORKER_STATE,
  type WorkerInit,
} from './data-parallel-protocol.js';
import { classOf, registeredModel, trainerOf } from './registry.js';
import type { SetModel } from './set-model.js';
import { MAX_SHARDS, type ShardResult } from './shards.js';
import type { ShardJob, ShardRunner } from './trainer.js';

/** Options of {@link dataParallel}. */
export interface DataParallelOptions {
  /**
   * Slices each step's batch is cut into (1..64). Fixes the numbers: the same count gives the
   * same steps on any machine, with or without workers. Saved with checkpoints.
   */
  shards: number;
  /**
   * Worker threads (0..32), or `'auto'` (default): one per further core, at most `shards − 1`
   * (none on a one-core machine: the shards then run here, one after the other).
   */
  workers?: number | 'auto';
  /**
   * A module (path or URL) each worker imports first: register your own model classes
   * (`registerModel`) and backend there. Default: none; the backend the main thread uses is
   * then imported from the application (`@tensorflow/tfjs-backend-<name>`, `@tensorflow/tfjs-node`).
   */
  setup?: string | URL;
  /** Longest wait for a worker's shard before it is computed here and the workers given up, ms. Default 60000. */
  timeoutMs?: number;
}

/** What {@link dataParallel} returns. */
export interface DataParallel {
  readonly shards: number;
  /** Worker threads started (0: every shard on the main thread). */
  readonly workers: number;
  /** Resolves when every worker is up (or has failed); steps before that run their shards here. */
  ready(): Promise<void>;
  /** Ends the workers (the model keeps its shard count: `model.trainer.setShards(1)` undoes it). */
  dispose(): void;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** A worker's shard is waited for at most this many times as long as a shard takes here. */
const PATIENCE = 3;
/** …plus this, ms (waking a thread, copying the result). */
const PATIENCE_MS = 20;

/** The package that provides tfjs backend `name` in Node. */
function backendPackage(name: string): string {
  return name === 'tensorflow' ? '@tensorflow/tfjs-node' : `@tensorflow/tfjs-backend-${name}`;
}

/** URL of `specifier` as the application resolves it (from its main script, then the working directory). */
function resolveFromApplication(specifier: string): string | undefined {
  const bases = [process.argv[1], join(process.cwd(), 'index.js')].filter(Boolean) as string[];
  for (const base of bases) {
    try {
      return pathToFileURL(createRequire(base).resolve(specifier)).href;
    } catch {
      // not from here
    }
  }
  return undefined;
}

/** The built worker script (from the TypeScript sources, as under vitest: the package's dist). */
function workerScript(): URL {
  const here = new URL('./data-parallel-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = new URL('../../dist/runtime/data-parallel-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new ConfigError(
    'dataParallel: the worker script data-parallel-worker.js is missing (build @setgen/models first)',
  );
}

function serializableFlags(): Record<string, number | boolean | string> {
  const flags: Record<string, number | boolean | string> = {};
  for (const [name, value] of Object.entries(env().getFlags())) {
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string')
      flags[name] = value;
  }
  return flags;
}

function fieldData(t: Tensor): FieldData {
  return {
    data: t.dataSync() as FieldData['data'],
    shape: [...t.shape],
    dtype: t.dtype as FieldData['dtype'],
  };
}

/** The worker pool that places a trainer's shards. */
class ShardWorkers implements ShardRunner {
  readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
  readonly results: SharedArrayBuffer;
  readonly layout: ResultLayout;
  readonly threads: Worker[];
  private seq = 0;
  private broken = false;
  private lastState: string | undefined;
  /** Shard words a worker still held when the last step ended (their results area is in use). */
  private outstanding: { word: number; state: number; since: number }[] = [];
  /** How long one shard takes on the main thread, ms (NaN until measured). */
  private shardMs = Number.NaN;
  /** Shards the workers computed (tests check they took part). */
  workerShards = 0;
  /** Where the time went, ms summed over steps (see the README's profile): main thread's shards, workers', waits. */
  readonly time = { mainShards: 0, main: 0, workers: 0, waiting: 0, posting: 0 };

  constructor(
    private readonly model: SetModel,
    readonly shards: number,
    workers: number,
    init: Omit<WorkerInit, 'index' | 'control' | 'results' | 'sizes'>,
    private readonly timeoutMs: number,
  ) {
    const sizes = model.trainableVariables.map((v) => v.size);
    this.layout = new ResultLayout(sizes);
    this.results = new SharedArrayBuffer(shards * this.layout.bytesPerShard);
    const script = workerScript();
    this.threads = Array.from({ length: workers }, (_, index) => {
      const data: WorkerInit = {
        ...init,
        index,
        control: this.control.buffer as SharedArrayBuffer,
        results: this.results,
        sizes,
      };
      const worker = new Worker(script, { workerData: data });
      worker.on('message', (message: { error?: string }) => {
        if (message?.error) this.fail(`a data-parallel worker could not start (${message.error})`);
      });
      worker.on('error', (error) => this.fail(`a data-parallel worker failed (${error.message})`));
      worker.on('exit', () => this.fail('a data-parallel worker exited'));
      // never keeps the process alive (after the listeners: a 'message' listener refs the port)
      worker.unref();
      return worker;
    });
  }

  /** Workers that are up (and nothing has failed). */
  private upWorkers(): Worker[] {
    if (this.broken) return [];
    return this.threads.filter((_, i) => Atomics.load(this.control, WORKER_STATE + i) === UP);
  }

  async ready(): Promise<void> {
    const start = Date.now();
    const starting = () =>
      !this.broken && this.threads.some((_, i) => Atomics.load(this.control, WORKER_STATE + i) === STARTING);
    while (starting() && Date.now() - start < this.timeoutMs) {
      await new Promise((resolve) => setTimeout(resolve, 5)); // keeps the process up while it waits
    }
  }

  /** Stops using the workers (for good), with one warning unless `quiet`. */
  fail(reason: string, quiet = false): void {
    if (this.broken) return;
    this.broken = true;
    if (!quiet)
      console.warn(
        `@setgen/models: ${reason}; training steps compute every shard on the main thread from now on`,
      );
    this.close();
  }

  private close(): void {
    this.broken = true;
    Atomics.add(this.control, SEQ, 1); // no worker claims anything any more
    for (const worker of this.threads) void worker.terminate();
  }

  dispose(): void {
    this.fail('disposed', true);
  }

  /** Whether no worker still writes a result of an earlier step (gives the workers up after the timeout). */
  private settled(): boolean {
    this.outstanding = this.outstanding.filter(
      ({ word, state }) => Atomics.load(this.control, word) === state,
    );
    const late = this.outstanding.find(({ since }) => performance.now() - since > this.timeoutMs);
    if (late) this.fail(`a data-parallel worker did not finish its shard within ${this.timeoutMs} ms`);
    return this.outstanding.length === 0;
  }

  /** Computes some shards of `job` on the workers, the rest with `inline`; see {@link ShardRunner}. */
  run(job: ShardJob, inline: (s: number) => ShardResult): (ShardResult | null)[] {
    const count = job.bounds.length - 1;
    const results: (ShardResult | null)[] = new Array(count).fill(null);
    const timed = (s: number): ShardResult => {
      const t0 = performance.now();
      // the workers keep the other cores busy: this thread's products are not shared (measured:
      // sharing them too made a SetVAE shard ≈ 20 % slower)
      const result = onOneMatmulThread(() => inline(s));
      const ms = performance.now() - t0;
      this.time.mainShards++;
      this.time.main += ms;
      this.shardMs = Number.isNaN(this.shardMs) ? ms : 0.5 * (this.shardMs + ms);
      return result;
    };
    if (count > this.shards || !this.settled()) return results; // every shard here
    const workers = this.upWorkers();
    if (workers.length === 0) return results;
    const ctrl = this.control;
    const seq = ++this.seq;
    const tag = tagOf(seq);
    for (let s = 0; s < count; s++) {
      const empty = job.bounds[s + 1] === job.bounds[s];
      Atomics.store(ctrl, STATES + s, tag + (empty ? MAIN : FREE));
    }
    Atomics.store(ctrl, SEQ, seq);
    const posted = performance.now();
    const message = this.message(seq, job);
    for (const worker of workers) worker.postMessage(message);
    this.time.posting += performance.now() - posted;
    try {
      // the front of the batch here, shard by shard, until a worker's shard is met (tests: the
      // last `workers` shards are left to the workers)
      const own = dataParallelForTests.noStealing ? count - workers.length : count;
      let s = 0;
      for (; s < own; s++) {
        if (Atomics.compareExchange(ctrl, STATES + s, tag + FREE, tag + MAIN) !== tag + FREE) break;
        results[s] = timed(s);
      }
      for (; s < count; s++) {
        const word = STATES + s;
        if (job.bounds[s + 1] === job.bounds[s]) continue;
        if (
          !dataParallelForTests.noStealing &&
          Atomics.compareExchange(ctrl, word, tag + FREE, tag + MAIN) === tag + FREE
        ) {
          results[s] = timed(s); // no worker took it yet
          continue;
        }
        const waited = performance.now();
        const state = this.await(word, tag);
        this.time.waiting += performance.now() - waited;
        if (state === tag + DONE) {
          const { result, ms } = this.layout.read(this.results, s);
          results[s] = result;
          this.workerShards++;
          this.time.workers += ms;
          continue;
        }
        // failed, or held too long: here instead
        results[s] = timed(s);
        if (state === tag + FAILED) this.fail('a data-parallel worker failed on its shard');
      }
      return results;
    } finally {
      // shards no worker claimed are the main thread's; those a worker still holds, outstanding
      for (let s = 0; s < count; s++) {
        const word = STATES + s;
        Atomics.compareExchange(ctrl, word, tag + FREE, tag + MAIN);
        const state = Atomics.load(ctrl, word);
        if (state === tag + WORKER) this.outstanding.push({ word, state, since: performance.now() });
      }
    }
  }

  /**
   * Waits for a shard a worker holds (tests: or has yet to claim); returns its word (still
   * WORKER if it took longer than the patience or the timeout).
   */
  private await(word: number, tag: number): number {
    const deadline = performance.now() + this.timeoutMs;
    const { patienceMs, noStealing } = dataParallelForTests;
    const patience =
      patienceMs ??
      (Number.isNaN(this.shardMs) || noStealing
        ? Number.POSITIVE_INFINITY
        : PATIENCE * this.shardMs + PATIENCE_MS);
    let heldSince = Number.NaN;
    let state = Atomics.load(this.control, word);
    // (a shard left FREE for a worker to claim is polled: claiming wakes no one)
    while ((state === tag + WORKER || state === tag + FREE) && !this.broken) {
      const now = performance.now();
      if (state === tag + WORKER && Number.isNaN(heldSince)) heldSince = now;
      const end = state === tag + WORKER ? Math.min(deadline, heldSince + patience) : deadline;
      const left = end - now;
      if (left <= 0) break;
      Atomics.wait(this.control, word, state, state === tag + FREE ? Math.min(left, 1) : left);
      state = Atomics.load(this.control, word);
    }
    if (state === tag + FREE && Atomics.compareExchange(this.control, word, state, tag + MAIN) === state) {
      return tag + MAIN; // never claimed: the main thread's
    }
    if (state === tag + WORKER && performance.now() >= deadline) {
      this.fail(`a data-parallel worker did not finish its shard within ${this.timeoutMs} ms`);
    }
    return state;
  }

  private message(seq: number, job: ShardJob): JobMessage {
    const named = this.model.namedWeights();
    const params = new Float32Array(named.reduce((n, { variable }) => n + variable.size, 0));
    let at = 0;
    for (const { variable } of named) {
      params.set(variable.dataSync() as Float32Array, at);
      at += variable.size;
    }
    const batch: Record<string, FieldData> = {};
    for (const key of ['x', 'mask', 'condition', 'target', 'targetMask'] as const) {
      const t = job.batch[key];
      if (t) batch[key] = fieldData(t);
    }
    const state = this.model.trainingState ? JSON.stringify(this.model.trainingState()) : undefined;
    const changed = state !== this.lastState;
    this.lastState = state;
    return {
      seq,
      seed: job.seed,
      weights: { ...job.weights },
      params,
      ...(changed && state !== undefined ? { state } : {}),
      bounds: [...job.bounds],
      batch,
      wasmFma: wasmFmaEnabled(),
    };
  }
}

const OPTIONS = {
  shards: is.any,
  workers: is.any,
  setup: is.any,
  timeoutMs: is.any,
};

/**
 * Makes `model`'s training steps data-parallel (Node): each batch is cut into `shards`
 * contiguous slices of sets, computed on worker threads and on this thread, and their
 * gradients summed as Σ_s (B_s/B)·∇L_s. Where a shard runs never changes the result; the
 * shard count does (it is saved with checkpoints, and restored by `load`). Returns a handle
 * whose `dispose` ends the workers (disposing the model does too).
 */
export function dataParallel(model: SetModel, options: DataParallelOptions): DataParallel {
  const modelClass = classOf(model);
  if (options === null || typeof options !== 'object') {
    throw new ConfigError(
      `options: expected { shards, workers?, setup?, timeoutMs? }, got ${String(options)}`,
    );
  }
  checkOptions(options, OPTIONS, 'options');
  const { shards, workers = 'auto', setup, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  if (!(Number.isInteger(shards) && shards >= 1 && shards <= MAX_SHARDS)) {
    throw new ConfigError(
      `options.shards: expected an integer in [1, ${MAX_SHARDS}], got ${JSON.stringify(shards)}`,
    );
  }
  if (workers !== 'auto' && !(Number.isInteger(workers) && workers >= 0 && workers <= MAX_WORKERS)) {
    throw new ConfigError(
      `options.workers: expected 'auto' or an integer in [0, ${MAX_WORKERS}], got ${JSON.stringify(workers)}`,
    );
  }
  if (!(typeof timeoutMs === 'number' && timeoutMs > 0)) {
    throw new ConfigError(`options.timeoutMs: expected a number > 0, got ${JSON.stringify(timeoutMs)}`);
  }
  if (setup !== undefined && typeof setup !== 'string' && !(setup instanceof URL)) {
    throw new ConfigError(`options.setup: expected a module path or URL, got ${JSON.stringify(setup)}`);
  }
  const threads = Math.min(
    shards - 1,
    workers === 'auto' ? Math.max(0, availableParallelism() - 1) : workers,
  );
  const trainer = trainerOf(model);
  if (trainer.step > 0 && trainer.shards !== shards) {
    console.warn(
      `@setgen/models: dataParallel: the run changes from ${trainer.shards} to ${shards} shards at step ${trainer.step}: ` +
        'the steps from here differ from those of an uninterrupted run',
    );
  }
  if (threads === 0) {
    trainer.setShards(shards, null);
    return { shards, workers: 0, ready: async () => {}, dispose: () => {} };
  }
  const setupUrl =
    setup === undefined
      ? undefined
      : setup instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(setup)
        ? String(setup)
        : pathToFileURL(setup).href;
  if (setupUrl?.startsWith('file:') && !existsSync(fileURLToPath(setupUrl))) {
    throw new ConfigError(`options.setup: no module at ${setupUrl}`);
  }
  const backend = getBackend();
  const backendModule = resolveFromApplication(backendPackage(backend));
  if (!backendModule && setupUrl === undefined) {
    throw new ConfigError(
      `options.setup: the workers need the '${backend}' backend, but ${backendPackage(backend)} cannot be resolved from the application; ` +
        'pass a setup module that registers it',
    );
  }
  if (!registeredModel(modelClass.className) && setupUrl === undefined) {
    throw new ConfigError(
      `options.setup: ${modelClass.className} is not registered (registerModel), so workers cannot rebuild it; ` +
        'register it in a module passed as options.setup',
    );
  }
  const pool = new ShardWorkers(
    model,
    shards,
    threads,
    {
      className: modelClass.className,
      config: model.getConfig(),
      setup: setupUrl,
      backend,
      backendModule,
      flags: serializableFlags(),
    },
    timeoutMs,
  );
  trainer.setShards(shards, pool);
  return {
    shards,
    workers: threads,
    ready: () => pool.ready(),
    dispose: () => {
      if (trainer.shardRunner === pool) trainer.setShards(trainer.shards, null);
      pool.dispose();
    },
  };
}

/** Test hooks: the pool of a model's trainer, a fault in the next shard a worker takes. */
export const dataParallelForTests = {
  /**
   * Whether the main thread leaves the last shards (one per worker) to the workers and waits
   * for them however long they take (to test the workers).
   */
  noStealing: false,
  /** How long the main thread waits for a worker's shard before computing it, ms (default: from its own shards). */
  patienceMs: undefined as number | undefined,
  pool(model: SetModel): {
    workerShards: number;
    time: ShardWorkers['time'];
    control: Int32Array;
    threads: Worker[];
  } | null {
    const runner = trainerOf(model).shardRunner;
    return runner instanceof ShardWorkers ? runner : null;
  },
  injectFault(model: SetModel, kind: 'throw' | 'exit' | 'hang'): void {
    const pool = this.pool(model);
    if (pool) Atomics.store(pool.control, FAULT, { throw: 1, exit: 2, hang: 3 }[kind]);
  },
};
