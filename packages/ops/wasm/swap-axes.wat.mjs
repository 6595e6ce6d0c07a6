// Source of the axis-swap kernel (WebAssembly text with 128-bit SIMD). `node wasm/build.mjs`
// assembles it into src/swap-axes-wasm.ts, twice: with a memory of its own, and importing a
// memory (env.memory) to compute in place on tfjs-wasm's heap.
//
//   y[a, c, b, :] = x[a, b, c, :]   for x read as [A, B, C, D] (row-major, 4-byte elements)
//
// Each of the A·B·C rows of D elements is copied whole: D mod 4 elements one at a time, then
// vectors of four (the split and merge of attention heads: rows of d = units / heads floats).

import { add, get, int, mul, resetLabels, set, whileLoop } from './wat.mjs';

const lines = (...parts) => parts.join('\n');

/** `for (name = 0; name < limit; name++) body` */
const forUp = (name, limit, body) =>
  lines(
    set(name, int(0)),
    whileLoop(`(i32.lt_u ${get(name)} ${limit})`, lines(body, set(name, add(get(name), int(1))))),
  );

/** The module: exports `swap(x, y, a, b, c, d)` (byte addresses) and its own `memory`, or imports `env.memory`. */
export function swapAxesWat({ importMemory = false } = {}) {
  resetLabels();
  // one row: the scalar head (D mod 4 elements), then vectors
  const copyRow = lines(
    set('o', int(0)),
    whileLoop(
      `(i32.lt_u ${get('o')} ${get('head')})`,
      lines(
        `(f32.store ${add(get('to'), get('o'))} (f32.load ${add(get('from'), get('o'))}))`,
        set('o', add(get('o'), int(4))),
      ),
    ),
    whileLoop(
      `(i32.lt_u ${get('o')} ${get('rowBytes')})`,
      lines(
        `(v128.store ${add(get('to'), get('o'))} (v128.load ${add(get('from'), get('o'))}))`,
        set('o', add(get('o'), int(16))),
      ),
    ),
  );
  return `(module
${importMemory ? '(import "env" "memory" (memory 1))' : '(memory (export "memory") 1)'}
(func (export "swap") (param $x i32) (param $y i32) (param $a i32) (param $b i32) (param $c i32) (param $d i32)
  (local $i i32) (local $j i32) (local $k i32) (local $o i32) (local $rowBytes i32) (local $head i32)
  (local $from i32) (local $to i32) (local $slab i32)
  ${set('rowBytes', mul(get('d'), int(4)))}
  ${set('head', `(i32.and ${get('rowBytes')} ${int(12)})`)}
  ${set('slab', mul(mul(get('b'), get('c')), get('rowBytes')))}
  ${set('from', get('x'))}
  ${forUp(
    'i',
    get('a'),
    forUp(
      'j',
      get('b'),
      lines(
        // y[i, k, j] for k = 0…C−1: rows B·D floats apart
        set('to', add(add(get('y'), mul(get('i'), get('slab'))), mul(get('j'), get('rowBytes')))),
        forUp(
          'k',
          get('c'),
          lines(
            copyRow,
            set('from', add(get('from'), get('rowBytes'))),
            set('to', add(get('to'), mul(get('b'), get('rowBytes')))),
          ),
        ),
      ),
    ),
  )})
)`;
}
