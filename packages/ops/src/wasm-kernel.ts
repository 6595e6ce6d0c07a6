// Loading one of @setgen's WebAssembly kernels (base64 in the package, see wasm/build.mjs):
// compiled on first use, synchronously where the runtime allows it; a browser's main thread
// may refuse synchronous compilation of larger modules (older Chromium: over 4 kB, with a
// RangeError; Chromium 156 compiles our 4.2 kB kernel synchronously), and then the
// module compiles in the background and the kernel counts as unavailable until it is ready
// (callers fall back to tfjs ops meanwhile; `ready()` waits for it). A kernel may come in two
// variants, plain SIMD and FMA (relaxed SIMD, wasm-fma.ts): each call uses the one the current
// setting selects, each variant compiled on first use.
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import type { TensorMemory } from './backend-memory.js';
import { wasmFmaEnabled } from './wasm-fma.js';

/** A kernel's variant: multiply-adds fused through relaxed SIMD, or a multiply and an add. */
export type KernelVariant = 'fma' | 'simd';

/** A kernel's binary from its base64 text. */
export function wasmBinary(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/**
 * A kernel with two builds per variant: one with its own memory, one importing `env.memory`
 * (in place); the FMA variant's builds are optional.
 */
export class WasmKernel<Exports> {
  private readonly simd: KernelBuilds<Exports>;
  private readonly fma: KernelBuilds<Exports> | null;

  constructor(base64: string, inPlaceBase64: string, fma?: { base64: string; inPlaceBase64: string }) {
    this.simd = new KernelBuilds(base64, inPlaceBase64);
    this.fma = fma ? new KernelBuilds(fma.base64, fma.inPlaceBase64) : null;
  }

  /** The variant calls use now: 'fma' where the kernel has one and FMA is on (wasm-fma.ts). */
  variant(): KernelVariant {
    return this.fma && wasmFmaEnabled() ? 'fma' : 'simd';
  }

  private builds(): KernelBuilds<Exports> {
    return this.variant() === 'fma' ? (this.fma as KernelBuilds<Exports>) : this.simd;
  }

  /** Resolves when the current variant is compiled (true) or known to be unavailable (false). */
  ready(): Promise<boolean> {
    return this.builds().ready();
  }

  /** The current variant's build with its own memory, or null while unavailable. */
  own(): Exports | null {
    return this.builds().own();
  }

  /** The current variant's build computing in `memory`, or null (unavailable, or the import is refused). */
  inPlace(memory: WebAssembly.Memory): Exports | null {
    return this.builds().inPlace(memory);
  }
}

/** One variant of a kernel: a build with its own memory and one importing `env.memory` (in place). */
class KernelBuilds<Exports> {
  /** undefined: not tried yet; null: unavailable (no SIMD, compilation refused). */
  private modules: { own: WebAssembly.Module; inPlace: WebAssembly.Module } | null | undefined;
  private pending: Promise<void> | null = null;
  private ownInstance: Exports | null | undefined;
  private readonly inPlaceInstances = new WeakMap<WebAssembly.Memory, Exports | null>();

  constructor(
    private readonly base64: string,
    private readonly inPlaceBase64: string,
  ) {}

  private compiled(): { own: WebAssembly.Module; inPlace: WebAssembly.Module } | null {
    if (this.modules === undefined && !this.pending) this.modules = this.compile();
    return this.modules ?? null;
  }

  /** Compiles both builds: the modules, null (no SIMD, refused) or undefined (compiling in the background). */
  private compile(): { own: WebAssembly.Module; inPlace: WebAssembly.Module } | null | undefined {
    if (typeof WebAssembly !== 'object') return null;
    const [own, inPlace] = [wasmBinary(this.base64), wasmBinary(this.inPlaceBase64)];
    if (!WebAssembly.validate(own)) return null; // no SIMD
    try {
      return { own: new WebAssembly.Module(own), inPlace: new WebAssembly.Module(inPlace) };
    } catch (error) {
      if (!(error instanceof RangeError)) return null; // refused (a Content-Security-Policy)
    }
    // too large to compile synchronously here: in the background
    this.pending = Promise.all([WebAssembly.compile(own), WebAssembly.compile(inPlace)]).then(
      ([ownModule, inPlaceModule]) => {
        this.modules = { own: ownModule, inPlace: inPlaceModule };
      },
      () => {
        this.modules = null;
      },
    );
    return undefined;
  }

  /** Resolves when the kernel is compiled (true) or known to be unavailable (false). */
  async ready(): Promise<boolean> {
    this.compiled();
    await this.pending;
    return this.compiled() !== null;
  }

  /** The build with its own memory, or null while unavailable. */
  own(): Exports | null {
    if (this.ownInstance !== undefined) return this.ownInstance;
    const modules = this.compiled();
    if (!modules) return null;
    this.ownInstance = new WebAssembly.Instance(modules.own).exports as unknown as Exports;
    return this.ownInstance;
  }

  /** The build computing in `memory`, or null (unavailable, or the import is refused: a shared memory). */
  inPlace(memory: WebAssembly.Memory): Exports | null {
    let kernel = this.inPlaceInstances.get(memory);
    if (kernel !== undefined) return kernel;
    const modules = this.compiled();
    if (!modules) return null;
    kernel = null;
    try {
      kernel = new WebAssembly.Instance(modules.inPlace, { env: { memory } }).exports as unknown as Exports;
    } catch {
      // the copying build then
    }
    this.inPlaceInstances.set(memory, kernel);
    return kernel;
  }
}

/** Grows a kernel's own memory to at least `bytes`. */
export function reserveMemory(memory: WebAssembly.Memory, bytes: number): void {
  const missing = bytes - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / (1 << 16)));
}

/**
 * Runs a kernel on float32 tensors where they live: `call` gets the byte addresses of `inputs`
 * (an undefined input is address 0, "none") and of new outputs of `shapes`. On tfjs-wasm the
 * kernel computes in place on the backend's heap; elsewhere (cpu), or where the heap cannot be
 * imported, in its own memory, the inputs copied in and the outputs copied out. Returns the
 * outputs. Only where `kernel.own()` is not null.
 */
export function runOnTensors<Exports extends { memory: WebAssembly.Memory }>(
  kernel: WasmKernel<Exports>,
  memory: TensorMemory,
  backend: KernelBackend,
  inputs: (TensorInfo | undefined)[],
  shapes: number[][],
  call: (exports: Exports, inputs: number[], outputs: number[]) => void,
): TensorInfo[] {
  const heap = memory.heap?.(backend) ?? null;
  const inPlace = heap ? kernel.inPlace(heap.memory) : null;
  if (heap && inPlace) {
    const outputs = shapes.map((shape) => heap.allocate(shape));
    call(
      inPlace,
      inputs.map((t) => (t ? heap.offset(t) : 0)),
      outputs.map((t) => heap.offset(t)),
    );
    return outputs;
  }
  const own = kernel.own()!;
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const addresses: number[] = [];
  let end = 16;
  for (const floats of [...inputs.map((t) => (t ? size(t.shape) : 0)), ...shapes.map(size)]) {
    addresses.push(end);
    end += 4 * floats + 16;
  }
  reserveMemory(own.memory, end);
  const floats = () => new Float32Array(own.memory.buffer);
  inputs.forEach((t, i) => {
    if (t) floats().set(memory.read(backend, t), addresses[i] / 4);
  });
  const outputAddresses = addresses.slice(inputs.length);
  call(
    own,
    inputs.map((t, i) => (t ? addresses[i] : 0)),
    outputAddresses,
  );
  return shapes.map((shape, i) =>
    memory.write(backend, shape, (out) =>
      out.set(floats().subarray(outputAddresses[i] / 4, outputAddresses[i] / 4 + out.length)),
    ),
  );
}
