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
});
