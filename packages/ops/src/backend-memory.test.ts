import { expect, it } from 'vitest';
import { tensorMemory } from './backend-memory.js';

it("tfjs-wasm's heap: scratch space above 2 GB has an unsigned offset (emscripten returns it signed)", () => {
  const freed: number[] = [];
  const backend = {
    wasm: {
      asm: { memory: new WebAssembly.Memory({ initial: 1 }) },
      _malloc: () => -2083424016, // 2,211,543,280 as a signed i32
      _free: (offset: number) => freed.push(offset),
    },
    dataIdMap: new Map(),
  };
  const heap = tensorMemory('wasm')!.heap!(backend as never)!;
  const offset = heap.malloc(16);
  expect(offset).toBe(2_211_543_280);
  heap.free(offset);
  expect(freed).toEqual([offset]);
  // asked again (every in-place kernel call does): the same object, not a new one per call
  expect(tensorMemory('wasm')!.heap!(backend as never)).toBe(heap);
  // a backend whose module is not there yet gets null, and is asked again later
  const early = { dataIdMap: new Map() } as { dataIdMap: Map<unknown, unknown>; wasm?: unknown };
  expect(tensorMemory('wasm')!.heap!(early as never)).toBeNull();
  early.wasm = backend.wasm;
  expect(tensorMemory('wasm')!.heap!(early as never)?.memory).toBe(backend.wasm.asm.memory);
});
