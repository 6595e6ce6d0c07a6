// Source of the batched matrix product kernel (WebAssembly text with 128-bit SIMD).
// `node wasm/build.mjs` assembles it into src/batch-matmul-wasm.ts, three times: with a memory
// of its own (operands are copied in and out); importing a memory (env.memory), so that on
// tfjs-wasm it computes in place on the backend's own heap; and importing a shared memory,
// for the worker threads that compute part of a product (src/matmul-threads.ts).
//
//   C[b] = A[b] · B[b]   for b < batch, A[b] n×k, B[b] k×m, C[b] n×m
//
// B and C are row-major and contiguous. A is read through strides (in elements), so the
// same code serves A and Aᵀ: A[b][i][p] is at a + 4·(b·batchStrideA + i·rowStrideA +
// p·colStrideA). A Bᵀ operand is first transposed into place with `transpose`.
//
// C is computed in register tiles of R rows × 4V columns: for every p, V vectors of B's
// row p are multiplied by the splatted A[i+r][p] and accumulated (R·V accumulators, one
// pass over k). Tiles are 4×8 and 4×4 over the rows in blocks of four, then 1×8 and 1×4
// for the remaining rows; the last m mod 4 columns are scalar dot products.
//
// With `fma`, the same kernel multiplies and adds through WebAssembly relaxed SIMD
// (`f32x4.relaxed_madd`: one fused multiply-add, vfmadd231ps on x64 with FMA3, fmla on arm64,
// rounded once; a runtime without fused hardware may round twice): the summation order is
// the same, each step rounds once instead of twice. Its scalar columns use the same
// instruction on splatted values (lane 0 kept), so every element of C is summed alike.
// Its row blocks and tiles can be chosen (`rows`, `vectors`): with one instruction per
// multiply-add the loads weigh more, and larger tiles load less per multiply-add (V8 on x64
// has 16 vector registers: R·V accumulators + V of B + 1 of A must fit in 15).

import { add, bytes, get, int, mul, resetLabels, set, whileLoop } from './wat.mjs';

const ROWS = 4; // rows of the main tile
const VECTORS = 2; // 4-float vectors of the main tile
/** Main tile of the FMA build: 4×8 too (measured against 6×8, 5×8 and 3×12: README "Matrix products"). */
export const FMA_TILE = { rows: 4, vectors: 2 };

/**
 * One tile of C: rows i..i+R, columns j..j+4V (vector) or the single column j (V = 0,
 * scalar). Expects $a0..$a{R-1} at A[i+r][0], $bRow at B[0][j] and $cTile at C[i][j].
 * With `fma` every multiply-add is one `f32x4.relaxed_madd` (scalar columns: on splatted
 * values in vector accumulators, lane 0 stored).
 */
function tile(R, V, fma) {
  const vector = V > 0;
  const wide = vector || fma; // vector accumulators
  const zero = wide ? '(v128.const i32x4 0 0 0 0)' : '(f32.const 0)';
  const accumulators = [];
  for (let r = 0; r < R; r++) for (let v = 0; v < Math.max(V, 1); v++) accumulators.push([r, v]);
  const acc = (r, v) => (vector ? `acc${r}_${v}` : fma ? `acc${r}_lane` : `acc${r}_scalar`);
  const loadB = (v) =>
    vector
      ? `(v128.load offset=${16 * v} ${get('b')})`
      : fma
        ? `(v128.load32_splat ${get('b')})`
        : `(f32.load ${get('b')})`;
  const loadA = (r) => (wide ? `(v128.load32_splat ${get(`p${r}`)})` : `(f32.load ${get(`p${r}`)})`);
  const madd = (r, v) =>
    fma
      ? set(acc(r, v), `(f32x4.relaxed_madd ${get('x')} ${get(`y${v}`)} ${get(acc(r, v))})`)
      : vector
        ? set(acc(r, v), `(f32x4.add ${get(acc(r, v))} (f32x4.mul ${get('x')} ${get(`y${v}`)}))`)
        : set(acc(r, v), `(f32.add ${get(acc(r, v))} (f32.mul ${get('s')} ${get('t')}))`);
  const store = (r, v) => {
    const at = add(get('cTile'), mul(int(r), get('rowStrideC')));
    if (vector) return `(v128.store offset=${16 * v} ${at} ${get(acc(r, v))})`;
    if (fma) return `(f32.store ${at} (f32x4.extract_lane 0 ${get(acc(r, v))}))`;
    return `(f32.store ${at} ${get(acc(r, v))})`;
  };
  const step = [];
  for (let v = 0; v < Math.max(V, 1); v++) step.push(wide ? set(`y${v}`, loadB(v)) : set('t', loadB(v)));
  for (let r = 0; r < R; r++) {
    step.push(wide ? set('x', loadA(r)) : set('s', loadA(r)));
    for (let v = 0; v < Math.max(V, 1); v++) step.push(madd(r, v));
    step.push(set(`p${r}`, add(get(`p${r}`), get('colStrideA'))));
  }
  step.push(set('b', add(get('b'), get('rowStrideC'))));
  step.push(set('q', `(i32.sub ${get('q')} ${int(1)})`));
  return [
    ...accumulators.map(([r, v]) => set(acc(r, v), zero)),
    ...Array.from({ length: R }, (_, r) => set(`p${r}`, get(`a${r}`))),
    set('b', get('bRow')),
    set('q', get('k')),
    whileLoop(get('q'), step.join('\n  ')),
    ...accumulators.map(([r, v]) => store(r, v)),
  ].join('\n');
}

/** Vector widths of a row block's tiles, widest first: `vectors`, then 2 and 1 below it. */
function tileWidths(vectors) {
  return [...new Set([vectors, 2, 1])].filter((v) => v <= vectors).sort((x, y) => y - x);
}

/** All tiles of the row block i..i+R: columns in steps of 4V, then narrower, then one. */
function rowBlock(R, vectors, fma) {
  const rowPointers = Array.from({ length: R }, (_, r) =>
    set(`a${r}`, add(get('aBatch'), mul(add(get('i'), int(r)), get('rowStrideA')))),
  );
  const tilePointers = [
    set('bRow', add(get('bBatch'), bytes(get('j')))),
    set('cTile', add(get('cBatch'), add(mul(get('i'), get('rowStrideC')), bytes(get('j'))))),
  ].join('\n');
  const columns = (width, V) =>
    whileLoop(
      `(i32.le_s ${add(get('j'), int(width))} ${get('m')})`,
      `${tilePointers}\n${tile(R, V, fma)}\n${set('j', add(get('j'), int(width)))}`,
    );
  return [
    ...rowPointers,
    set('j', int(0)),
    ...tileWidths(vectors).map((V) => columns(4 * V, V)),
    columns(1, 0),
  ].join('\n');
}

/** Row blocks, tallest first: `rows`, then 4 below it, then single rows. */
function rowBlocks(rows) {
  return [...new Set([rows, 4, 1])].filter((r) => r <= rows).sort((x, y) => y - x);
}

function locals(rows, vectors, fma) {
  const names = [];
  for (let r = 0; r < rows; r++) for (let v = 0; v < vectors; v++) names.push(`(local $acc${r}_${v} v128)`);
  for (let r = 0; r < rows; r++)
    names.push(fma ? `(local $acc${r}_lane v128)` : `(local $acc${r}_scalar f32)`);
  names.push('(local $x v128)');
  for (let v = 0; v < vectors; v++) names.push(`(local $y${v} v128)`);
  if (!fma) names.push('(local $s f32) (local $t f32)');
  for (let r = 0; r < rows; r++) names.push(`(local $a${r} i32) (local $p${r} i32)`);
  for (const name of ['b', 'q', 'bRow', 'cTile', 'i', 'j', 'batchIndex', 'aBatch', 'bBatch', 'cBatch'])
    names.push(`(local $${name} i32)`);
  for (const name of ['rowStrideA', 'colStrideA', 'rowStrideC']) names.push(`(local $${name} i32)`);
  return names.join('\n');
}

/** Pages a shared memory may grow to (declared by the shared build; any shared memory up to 4 GB fits). */
export const SHARED_MAXIMUM_PAGES = 65536;

/**
 * The whole module: exports `matmul` and `transpose`, and its own `memory`, or with
 * `importMemory` computes in the memory it is given as `env.memory` (with `shared`, a shared
 * memory: the same code, for worker threads). With `fma`, multiply-adds are fused (relaxed
 * SIMD) and the main tile is `rows` × 4·`vectors` (default FMA_TILE).
 */
export function batchMatMulWat({
  importMemory = false,
  shared = false,
  fma = false,
  rows = fma ? FMA_TILE.rows : ROWS,
  vectors = fma ? FMA_TILE.vectors : VECTORS,
} = {}) {
  resetLabels();
  const rowLoops = rowBlocks(rows).map((R) =>
    whileLoop(
      R === 1 ? `(i32.lt_s ${get('i')} ${get('n')})` : `(i32.le_s ${add(get('i'), int(R))} ${get('n')})`,
      `${rowBlock(R, vectors, fma)}\n${set('i', add(get('i'), int(R)))}`,
    ),
  );
  const body = [
    set('rowStrideA', bytes(get('rowStrideAe'))),
    set('colStrideA', bytes(get('colStrideAe'))),
    set('rowStrideC', bytes(get('m'))),
    set('batchIndex', int(0)),
    whileLoop(
      `(i32.lt_s ${get('batchIndex')} ${get('batch')})`,
      [
        set('aBatch', add(get('a'), bytes(mul(get('batchIndex'), get('batchStrideA'))))),
        set('bBatch', add(get('bm'), mul(mul(get('batchIndex'), get('k')), get('rowStrideC')))),
        set('cBatch', add(get('c'), mul(mul(get('batchIndex'), get('n')), get('rowStrideC')))),
        set('i', int(0)),
        ...rowLoops,
        set('batchIndex', add(get('batchIndex'), int(1))),
      ].join('\n'),
    ),
  ].join('\n');
  return `(module
${
  shared
    ? `(import "env" "memory" (memory 1 ${SHARED_MAXIMUM_PAGES} shared))`
    : importMemory
      ? '(import "env" "memory" (memory 1))'
      : '(memory (export "memory") 1)'
}
(func (export "matmul") (param $a i32) (param $bm i32) (param $c i32)
      (param $batch i32) (param $n i32) (param $k i32) (param $m i32)
      (param $batchStrideA i32) (param $rowStrideAe i32) (param $colStrideAe i32)
${locals(rows, vectors, fma)}
${body})
${transposeFunction()}
)`;
}

/** dst[b] = src[b]ᵀ for `batch` row-major rows×cols matrices. */
function transposeFunction() {
  return `(func (export "transpose") (param $src i32) (param $dst i32) (param $batch i32) (param $rows i32) (param $cols i32)
(local $b i32) (local $i i32) (local $j i32) (local $from i32) (local $to i32) (local $size i32)
${set('size', mul(get('rows'), get('cols')))}
${whileLoop(
  `(i32.lt_s ${get('b')} ${get('batch')})`,
  [
    set('i', int(0)),
    whileLoop(
      `(i32.lt_s ${get('i')} ${get('rows')})`,
      [
        set('from', add(get('src'), bytes(add(mul(get('b'), get('size')), mul(get('i'), get('cols')))))),
        set('to', add(get('dst'), bytes(add(mul(get('b'), get('size')), get('i'))))),
        set('j', int(0)),
        whileLoop(
          `(i32.lt_s ${get('j')} ${get('cols')})`,
          [
            `(f32.store ${get('to')} (f32.load ${get('from')}))`,
            set('from', add(get('from'), int(4))),
            set('to', add(get('to'), bytes(get('rows')))),
            set('j', add(get('j'), int(1))),
          ].join('\n'),
        ),
        set('i', add(get('i'), int(1))),
      ].join('\n'),
    ),
    set('b', add(get('b'), int(1))),
  ].join('\n'),
)})`;
}
