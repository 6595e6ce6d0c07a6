// Worker threads for the SIMD matrix product (batch-matmul-kernel.ts). tfjs-wasm runs on one
// thread in Node and its memory is not shared, so a product is split: the calling thread copies
// the operands of a trailing region of the work (batch slices, rows of C, or blocks of a long
// inner dimension) into a shared WebAssembly memory, wakes the workers, and computes the leading
// part in place in tfjs's heap; the workers run the same kernel (the shared build) on the region
// from its end, the calling thread takes region chunks from its front until the two meet, waits
// (Atomics.wait: the tfjs kernel is synchronous) and copies the workers' rows of C back. Every
// element of C is summed by the same code in the same order on either thread: bit-identical.
//
// Chunks are claimed by compare-and-swap on a state word tagged with the job's number, so a
// worker that wakes late (or never: busy core, dead thread) only leaves more for the calling
// thread; a chunk that a worker failed on, or held past the timeout, is recomputed on the
// calling thread, and the threads are then given up for good with a warning.
//
// The workers run the shared build of the calling thread's variant (plain SIMD or FMA, the one
// `matmulKernelVariant()` reports; a pool made for the other variant is closed and a new one
// started): V8's flags are process-wide, so a worker validates whatever the calling thread does.
//
// Node only, found at run time through `process.getBuiltinModule` (Node ≥ 20.16): there is no
// import of a Node module here, so bundlers see nothing and browsers run one thread.
import { BATCH_MATMUL_FMA_SHARED_WASM, BATCH_MATMUL_SHARED_WASM } from './batch-matmul-wasm.js';
import { ConfigError } from './errors.js';
import { wasmFmaEnabled } from './wasm-fma.js';
import { type KernelVariant, reserveMemory, wasmBinary } from './wasm-kernel.js';

/** The kernel's exports (the same in every build). */
export interface MatmulKernel {
  matmul(
    a: number,
    b: number,
    c: number,
    batch: number,
    n: number,
    k: number,
    m: number,
    batchStrideA: number,
    rowStrideA: number,
    colStrideA: number,
  ): void;
  transpose(src: number, dst: number, batch: number, rows: number, cols: number): void;
}

/** How a product is cut into units: batch slices, rows of C (batch 1), blocks of Aᵀ·B's inner rows. */
export const SPLIT_BATCH = 0;
export const SPLIT_ROWS = 1;
export const SPLIT_BLOCKS = 2;

/**
 * The kernel calls for units `u0..u1` of a split product, with `a`, `b`, `c` the byte offsets
 * of unit `u0`. `p` = [mode, n, k, m, batchStrideA, rowStrideA, colStrideA, blockRows].
 * Blocks: each unit is the product of A's and B's rows `u·blockRows ..` (at most blockRows),
 * written to its own n×m slot, the blocks one after the other. Runs on both threads; it is
 * passed to the workers as source text, so it uses nothing from outside.
 */
export function runUnits(
  kernel: MatmulKernel,
  p: ArrayLike<number>,
  u0: number,
  u1: number,
  a: number,
  b: number,
  c: number,
): void {
  const [mode, n, k, m] = [p[0], p[1], p[2], p[3]];
  if (mode === 0) kernel.matmul(a, b, c, u1 - u0, n, k, m, p[4], p[5], p[6]);
  else if (mode === 1) kernel.matmul(a, b, c, 1, u1 - u0, k, m, p[4], p[5], p[6]);
  else {
    const rows = p[7];
    for (let u = u0; u < u1; u++) {
      const r = Math.min(rows, k - u * rows);
      const offset = u - u0;
      kernel.matmul(
        a + 4 * offset * rows * n,
        b + 4 * offset * rows * m,
        c + 4 * offset * n * m,
        1,
        n,
        r,
        m,
        r * n,
        1,
        n,
      );
    }
  }
}

// The control block (Int32Array on a SharedArrayBuffer): job number, flags, the job, chunk states.
const SEQ = 0; // job number, bumped for each job (the workers wait on it)
const STOP = 1; // 1: workers leave
const READY = 2; // workers that are up
const FAULT = 3; // test hook: 1 throw, 2 exit the thread, 3 hang, in the next chunk a worker takes
const PARAMS = 8; // runUnits' p[0..7]
const UNITS = 16; // units of the whole product
const REGION = 17; // first unit of the shared region
const PER_CHUNK = 18; // units per chunk of the region
const CHUNKS = 19; // chunks of the region
const STEPS = 20; // bytes from one unit's A, B, C to the next's in shared memory
const BASES = 23; // byte offsets of unit REGION's A, B, C in shared memory
const STATES = 32; // chunk states: tag·8 + status
const MAX_CHUNKS = 16;
const CONTROL_WORDS = STATES + MAX_CHUNKS;
// chunk status
const FREE = 0;
const MAIN = 1;
const WORKER = 2;
const DONE = 3;
const FAILED = 4;
const COPYING = 5; // operands not in shared memory yet

const workerSource = `
const { workerData } = require('node:worker_threads');
const { binary, memory, control, spinMs } = workerData;
const kernel = new WebAssembly.Instance(new WebAssembly.Module(binary), { env: { memory } }).exports;
const runUnits = (${runUnits.toString()});
const ctrl = new Int32Array(control);
const [SEQ, STOP, READY, FAULT, PARAMS, UNITS, REGION, PER_CHUNK, CHUNKS, STEPS, BASES, STATES] =
  [${SEQ}, ${STOP}, ${READY}, ${FAULT}, ${PARAMS}, ${UNITS}, ${REGION}, ${PER_CHUNK}, ${CHUNKS}, ${STEPS}, ${BASES}, ${STATES}];
let seen = Atomics.load(ctrl, SEQ);
Atomics.add(ctrl, READY, 1);
function work(seq) {
  const tag = (seq & 0xffffff) * 8;
  for (let j = Atomics.load(ctrl, CHUNKS) - 1; j >= 0; j--) {
    let was = Atomics.compareExchange(ctrl, STATES + j, tag + ${FREE}, tag + ${WORKER});
    while (was === tag + ${COPYING}) {
      // the calling thread is copying this chunk's operands: the next moment it is free
      was = Atomics.compareExchange(ctrl, STATES + j, tag + ${FREE}, tag + ${WORKER});
    }
    if (was !== tag + ${FREE}) {
      if (was === tag + ${WORKER} || was === tag + ${DONE} || was === tag + ${FAILED}) continue; // another worker's
      return; // the calling thread's, or another job's
    }
    // claimed: the calling thread waits for this chunk, so the job stays as it is
    let status = ${DONE};
    try {
      const fault = Atomics.exchange(ctrl, FAULT, 0);
      if (fault === 1) throw new Error('injected fault');
      if (fault === 2) process.exit(1);
      if (fault === 3) Atomics.wait(ctrl, FAULT, 0);
      const region = ctrl[REGION];
      const u0 = region + j * ctrl[PER_CHUNK];
      const u1 = Math.min(u0 + ctrl[PER_CHUNK], ctrl[UNITS]);
      const at = (s) => ctrl[BASES + s] + (u0 - region) * ctrl[STEPS + s];
      runUnits(kernel, ctrl.subarray(PARAMS, PARAMS + 8), u0, u1, at(0), at(1), at(2));
    } catch {
      status = ${FAILED};
    }
    Atomics.store(ctrl, STATES + j, tag + status);
    Atomics.notify(ctrl, STATES + j);
  }
}
for (;;) {
  let seq = Atomics.load(ctrl, SEQ);
  if (seq === seen) {
    const until = performance.now() + spinMs; // a product often follows soon: spin a little first
    while ((seq = Atomics.load(ctrl, SEQ)) === seen && performance.now() < until);
    if (seq === seen) {
      Atomics.wait(ctrl, SEQ, seen);
      continue;
    }
  }
  seen = seq;
  if (Atomics.load(ctrl, STOP)) break;
  work(seq);
}
`;

/** Options of {@link setMatmulThreads}. */
export interface MatmulThreadsOptions {
  /** Products with fewer multiply-adds than this run on the calling thread alone; default 2²⁴ (≈ 1 ms). */
  minMultiplyAdds?: number;
  /** Longest wait for a worker's chunk before computing it here and giving the threads up, ms; default 2000. */
  timeoutMs?: number;
}

/** The default thread count: `SETGEN_MATMUL_THREADS` if set, else the cores (at most 4). */
const MAX_DEFAULT_THREADS = 4;
const DEFAULT_MIN_MULTIPLY_ADDS = 1 << 24;
const DEFAULT_TIMEOUT_MS = 2000;
/** How long an idle worker polls for the next product before it sleeps, ms. */
const SPIN_MS = 0.5;
/**
 * Products are shared only with at least this many multiply-adds per float they would copy (A, B
 * and C of the whole product): copying into shared memory moves every float to the other core.
 * A dense layer of width 64 has 32, attention with 16 features per head 10 (measured:
 * `bench/matmul-threads.bench.mjs`).
 */
const MIN_INTENSITY = 8;
/**
 * The calling thread waits for a worker's chunk at most this many times as long as a chunk takes
 * it, then computes the chunk itself (a worker whose core is busy must not hold a product up).
 */
const PATIENCE = 2;
const SLOW_MULTIPLY_ADDS_PER_MS = 5e6;
/** The workers' region is their share of the units plus this fraction of one thread's share. */
const REGION_EXTRA = 0.2;
/** Shared memory for the workers' operands and results: at most this many bytes per product. */
const MAX_SHARED_BYTES = 64 << 20;
const PAGE_BYTES = 1 << 16;

interface NodeModules {
  os: typeof import('node:os');
  workerThreads: typeof import('node:worker_threads');
}

/** node:os and node:worker_threads where the runtime has them (Node ≥ 20.16), else null. */
function nodeModules(): NodeModules | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function' || typeof SharedArrayBuffer !== 'function') return null;
  try {
    const os = proc.getBuiltinModule('node:os') as NodeModules['os'];
    const workerThreads = proc.getBuiltinModule('node:worker_threads') as NodeModules['workerThreads'];
    return os && workerThreads?.Worker ? { os, workerThreads } : null;
  } catch {
    return null;
  }
}

/** `SETGEN_MATMUL_THREADS` as a thread count, undefined when unset; a bad value is a ConfigError. */
function threadsFromEnvironment(): number | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.SETGEN_MATMUL_THREADS;
  if (value === undefined || value === '') return undefined;
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ConfigError(`SETGEN_MATMUL_THREADS: expected an integer >= 1, got '${value}'`);
  }
  return threads;
}

/** The thread count `'auto'` means: the cores available (at most 4), or 1 where threads are unavailable. */
export function autoMatmulThreads(parallelism = nodeModules()?.os.availableParallelism() ?? 1): number {
  return Math.max(1, Math.min(MAX_DEFAULT_THREADS, parallelism));
}

/** A pool of workers and the shared memory they compute in. */
class MatmulPool {
  readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
  readonly memory: WebAssembly.Memory;
  readonly workers: import('node:worker_threads').Worker[];
  seq = 0;
  broken = false;
  /** Chunks the workers computed (tests check that they took part). */
  workerChunks = 0;
  /**
   * A chunk a worker still holds after the calling thread stopped waiting for it and computed
   * it itself: no job may reuse the shared memory until that worker lets go of it.
   */
  abandoned: { slot: number; state: number; since: number } | null = null;

  /** Whether no abandoned chunk is still being computed (gives up the threads after the timeout). */
  settled(timeout: number): boolean {
    const held = this.abandoned;
    if (!held) return true;
    if (Atomics.load(this.control, held.slot) !== held.state) {
      this.abandoned = null;
      return true;
    }
    if (performance.now() - held.since > timeout) {
      this.fail(`a worker thread did not finish its part of a matrix product within ${timeout} ms`);
    }
    return false;
  }

  constructor(
    modules: NodeModules,
    readonly threads: number,
    /** The kernel variant the workers run (the calling thread's). */
    readonly variant: KernelVariant,
  ) {
    this.memory = new WebAssembly.Memory({
      initial: 1,
      maximum: MAX_SHARED_BYTES / PAGE_BYTES + 1,
      shared: true,
    });
    const binary = wasmBinary(variant === 'fma' ? BATCH_MATMUL_FMA_SHARED_WASM : BATCH_MATMUL_SHARED_WASM);
    const workerData = { binary, memory: this.memory, control: this.control.buffer, spinMs: SPIN_MS };
    this.workers = Array.from({ length: threads - 1 }, () => {
      const worker = new modules.workerThreads.Worker(workerSource, { eval: true, workerData });
      worker.unref(); // never keeps the process alive
      worker.on('error', () => this.fail('a worker thread failed'));
      worker.on('exit', () => this.fail('a worker thread exited'));
      return worker;
    });
  }

  /** Whether at least one worker is up and nothing has failed. */
  get ready(): boolean {
    return !this.broken && Atomics.load(this.control, READY) > 0;
  }

  /** Stops using the threads (for good), with a warning unless `quiet`. */
  fail(reason: string, quiet = false): void {
    if (this.broken) return;
    this.broken = true;
    if (!quiet) {
      console.warn(`@setgen/ops: ${reason}; matrix products run on one thread from now on`);
    }
    this.close();
  }

  close(): void {
    this.broken = true;
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, SEQ, 1);
    Atomics.notify(this.control, SEQ);
    for (const worker of this.workers) void worker.terminate();
  }

  /** Float32 view of the shared memory, grown to at least `bytes`. */
  reserve(bytes: number): Float32Array {
    reserveMemory(this.memory, bytes);
    return new Float32Array(this.memory.buffer);
  }
}

let requested: number | 'auto' = 'auto';
let minMultiplyAdds = DEFAULT_MIN_MULTIPLY_ADDS;
let timeoutMs = DEFAULT_TIMEOUT_MS;
let pool: MatmulPool | null | undefined;

/**
 * Sets how many threads (the calling one included) `batchMatMul`'s SIMD kernel uses on the
 * wasm backend in Node: 1 turns the worker threads off; `'auto'` (the default, or the
 * environment variable `SETGEN_MATMUL_THREADS`) takes the available cores, at most 4. Workers
 * start on the first product large enough to share, are unref'd (they never keep a process
 * alive) and end when the count changes. Results are bit-identical for every count.
 */
export function setMatmulThreads(threads: number | 'auto', options: MatmulThreadsOptions = {}): void {
  if (threads !== 'auto' && !(Number.isInteger(threads) && threads >= 1)) {
    throw new ConfigError(`threads: expected an integer >= 1 or 'auto', got ${threads}`);
  }
  const { minMultiplyAdds: min = DEFAULT_MIN_MULTIPLY_ADDS, timeoutMs: timeout = DEFAULT_TIMEOUT_MS } =
    options;
  if (!(typeof min === 'number' && min >= 0)) {
    throw new ConfigError(`minMultiplyAdds: expected a number >= 0, got ${min}`);
  }
  if (!(typeof timeout === 'number' && timeout > 0)) {
    throw new ConfigError(`timeoutMs: expected a number > 0, got ${timeout}`);
  }
  pool?.close();
  pool = undefined;
  requested = threads;
  minMultiplyAdds = min;
  timeoutMs = timeout;
}

/** The threads products use now: 1 where worker threads are off, unavailable or have failed. */
export function getMatmulThreads(): number {
  if (pool === undefined) return resolveThreads();
  return pool && !pool.broken ? pool.threads : 1;
}

function resolveThreads(): number {
  if (!nodeModules()) return 1;
  return requested === 'auto' ? (threadsFromEnvironment() ?? autoMatmulThreads()) : requested;
}

/** Calls of {@link onOneMatmulThread} under way. */
let oneThread = 0;

/**
 * Runs `fn` with every product on the calling thread: for a caller that already keeps the other
 * cores busy (data-parallel training steps), where sharing a product would only oversubscribe
 * them. Results are the same (bit-identical for every thread count).
 */
export function onOneMatmulThread<T>(fn: () => T): T {
  oneThread++;
  try {
    return fn();
  } finally {
    oneThread--;
  }
}

/**
 * The pool for a product of `multiplyAdds` computed with the kernel `variant`, or null: one
 * thread (small product, no threads, not up yet). A pool of the other variant (FMA switched
 * since it started) is closed and a new one started.
 */
function poolFor(multiplyAdds: number, variant: KernelVariant): MatmulPool | null {
  if (multiplyAdds < minMultiplyAdds || oneThread > 0 || matmulThreadsForTests.disabled) return null;
  if (pool && pool.variant !== variant && !pool.broken) {
    pool.close();
    pool = undefined;
  }
  if (pool === undefined) {
    const threads = resolveThreads();
    const modules = nodeModules();
    pool = threads > 1 && modules ? new MatmulPool(modules, threads, variant) : null;
  }
  return pool?.ready ? pool : null;
}

/** Test hooks: the pool's workers, chunks they computed, and a fault for the next chunk a worker takes. */
export const matmulThreadsForTests = {
  pool: (): MatmulPool | null | undefined => pool,
  async whenReady(): Promise<void> {
    poolFor(Number.POSITIVE_INFINITY, wasmFmaEnabled() ? 'fma' : 'simd');
    const start = Date.now();
    while (pool && !pool.ready && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 5));
  },
  injectFault(kind: 'throw' | 'exit' | 'hang'): void {
    if (pool) Atomics.store(pool.control, FAULT, { throw: 1, exit: 2, hang: 3 }[kind]);
  },
  /** Whether the calling thread leaves every chunk of the region to the workers (to test them). */
  noStealing: false,
  /** Whether products run on the calling thread alone (the reference in tests). */
  disabled: false,
  /** Multiply-adds per copied float below which products are not shared (tests share any). */
  minIntensity: MIN_INTENSITY,
};

/**
 * A product split for the threads: `units` units, the calling thread computes units
 * `0..region` and whatever region chunks it gets; the workers compute the rest in shared memory.
 */
export interface SplitProduct {
  /** runUnits' p: [mode, n, k, m, batchStrideA, rowStrideA, colStrideA, blockRows]. */
  params: number[];
  units: number;
  /** Floats of A, B, C per unit in shared memory (B: 0 when one B serves all units). */
  unitFloats: [number, number, number];
  /** Floats of A and B that every unit shares (copied once): rows mode's whole Aᵀ and B. */
  fixedFloats: [number, number];
  /** Floats from one unit's A, B, C to the next's in shared memory. */
  steps: [number, number, number];
  /** Units per chunk are rounded to a multiple of this (4 rows: the kernel's row tile). */
  granularity: number;
  /** The kernel variant the calling thread computes with (the workers run the same). */
  variant: KernelVariant;
}

/** What the calling thread does: copy a region's operands in, compute units in place, take results out. */
export interface SplitCallbacks {
  /**
   * Copies what all units of the region share (`fixedFloats`) to float offsets `a`, `b` of
   * `shared`; returns where unit `first`'s A and B are then.
   */
  copyFixed(shared: Float32Array, first: number, a: number, b: number): [number, number];
  /** Copies the own operands of units `u0..u1` to float offsets `a`, `b` (`unitFloats` per unit). */
  copyUnits(shared: Float32Array, u0: number, u1: number, a: number, b: number): void;
  /** Computes units `u0..u1` in place (blocks: added to C in order). */
  compute(u0: number, u1: number): void;
  /** Takes units `u0..u1` computed by a worker from `shared` at float offset `c` (blocks: adds them). */
  copyOut(shared: Float32Array, u0: number, u1: number, c: number): void;
}

/**
 * Runs a split product on the worker threads and the calling thread, or returns false (nothing
 * done) when it should run on one thread: threads off or not up, a product too small, or one
 * whose operands and result would take longer to copy than the workers save.
 */
export function runSplit(split: SplitProduct, multiplyAdds: number, calls: SplitCallbacks): boolean {
  const { units, unitFloats, fixedFloats, granularity } = split;
  const perUnit = unitFloats[0] + unitFloats[1] + unitFloats[2];
  if (
    units < 2 ||
    multiplyAdds < matmulThreadsForTests.minIntensity * (fixedFloats[0] + fixedFloats[1] + units * perUnit)
  )
    return false;
  const workers = poolFor(multiplyAdds, split.variant);
  if (!workers?.settled(timeoutMs)) return false;
  // the workers' region: their share of the units and a little more, which the calling thread
  // takes back if it is done first (it also copies); limited by the shared memory
  const threads = workers.threads;
  const fit = Math.floor((MAX_SHARED_BYTES / 4 - fixedFloats[0] - fixedFloats[1]) / perUnit);
  let regionUnits = Math.min(fit, Math.ceil((units * (threads - 1 + REGION_EXTRA)) / threads), units - 1);
  let perChunk = Math.ceil(regionUnits / Math.min(MAX_CHUNKS, 2 * threads + 4));
  perChunk = Math.ceil(perChunk / granularity) * granularity;
  if (regionUnits < 1 || perChunk < 1) return false;
  const chunks = Math.ceil(regionUnits / perChunk);
  regionUnits = Math.min(units, chunks * perChunk);
  const region = units - regionUnits;
  // shared memory: A (shared part, then per unit) | B (likewise) | C
  const aAt = 0;
  const bAt = aAt + fixedFloats[0] + regionUnits * unitFloats[0];
  const cAt = bAt + fixedFloats[1] + regionUnits * unitFloats[1];
  const shared = workers.reserve(4 * (cAt + regionUnits * unitFloats[2]));

  // post the job, then copy its chunks from the last one on: a worker starts on the first copied
  const ctrl = workers.control;
  const seq = ++workers.seq;
  const tag = (seq & 0xffffff) * 8;
  const [aBase, bBase] = calls.copyFixed(shared, region, aAt, bAt);
  ctrl.set(split.params, PARAMS);
  ctrl[UNITS] = units;
  ctrl[REGION] = region;
  ctrl[PER_CHUNK] = perChunk;
  ctrl[CHUNKS] = chunks;
  for (let s = 0; s < 3; s++) ctrl[STEPS + s] = 4 * split.steps[s];
  ctrl[BASES] = 4 * aBase;
  ctrl[BASES + 1] = 4 * bBase;
  ctrl[BASES + 2] = 4 * cAt;
  for (let j = 0; j < chunks; j++) Atomics.store(ctrl, STATES + j, tag + COPYING);
  Atomics.store(ctrl, SEQ, seq);
  Atomics.notify(ctrl, SEQ);
  const aUnits = aAt + fixedFloats[0];
  const bUnits = bAt + fixedFloats[1];
  for (let j = chunks - 1; j >= 0; j--) {
    const u0 = region + j * perChunk;
    const offset = u0 - region;
    calls.copyUnits(
      shared,
      u0,
      Math.min(u0 + perChunk, units),
      aUnits + offset * unitFloats[0],
      bUnits + offset * unitFloats[1],
    );
    Atomics.store(ctrl, STATES + j, tag + FREE);
  }

  const chunkUnits = (j: number): [number, number] => {
    const u0 = region + j * perChunk;
    return [u0, Math.min(u0 + perChunk, units)];
  };
  const start = performance.now();
  if (region > 0) calls.compute(0, region);
  // how long a chunk takes here: a worker's chunk that takes much longer than that (its thread
  // was descheduled, or woke late) is computed here instead of waited for (with no units of its
  // own, the calling thread assumes 5 G multiply-adds/s, a slow core)
  const chunkMs =
    region > 0
      ? ((performance.now() - start) * perChunk) / region
      : (multiplyAdds * perChunk) / units / SLOW_MULTIPLY_ADDS_PER_MS;
  let j = 0;
  if (!matmulThreadsForTests.noStealing) {
    for (; j < chunks; j++) {
      if (Atomics.compareExchange(ctrl, STATES + j, tag + FREE, tag + MAIN) !== tag + FREE) break;
      calls.compute(...chunkUnits(j));
    }
  }
  // the rest is the workers': wait for each chunk in order (blocks are summed in order)
  for (; j < chunks; j++) {
    const [u0, u1] = chunkUnits(j);
    const now = performance.now();
    const deadline = now + timeoutMs;
    const patience = matmulThreadsForTests.noStealing ? deadline : now + PATIENCE * chunkMs + 0.02;
    let state = Atomics.load(ctrl, STATES + j);
    // poll, not sleep: waking a sleeping thread costs tens of µs on a virtual machine
    while (
      (state === tag + FREE || state === tag + WORKER) &&
      performance.now() < Math.min(patience, now + SPIN_MS)
    ) {
      state = Atomics.load(ctrl, STATES + j);
    }
    while (!workers.broken && (state === tag + FREE || state === tag + WORKER)) {
      const left = Math.min(patience, deadline) - performance.now();
      if (left <= 0) break;
      Atomics.wait(ctrl, STATES + j, state, left);
      state = Atomics.load(ctrl, STATES + j);
    }
    if (state === tag + WORKER && patience < deadline && !workers.broken) {
      workers.abandoned = { slot: STATES + j, state, since: performance.now() };
      calls.compute(u0, u1); // here instead; the worker's copy of it is ignored
      continue;
    }
    if (state === tag + DONE) {
      workers.workerChunks++;
      calls.copyOut(new Float32Array(workers.memory.buffer), u0, u1, cAt + (u0 - region) * split.steps[2]);
      continue;
    }
    workers.fail(
      state === tag + FAILED
        ? 'a matrix product failed on a worker thread'
        : `a worker thread did not finish its part of a matrix product within ${timeoutMs} ms`,
    );
    calls.compute(u0, u1); // here instead
  }
  return true;
}
