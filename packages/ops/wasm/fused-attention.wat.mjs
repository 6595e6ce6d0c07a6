// Source of the fused softmax-attention kernel (WebAssembly text with 128-bit SIMD).
// `node wasm/build.mjs` assembles it into src/fused-attention-wasm.ts, twice: with a memory of
// its own, and importing a memory (env.memory) to compute in place on tfjs-wasm's heap.
//
// For every batch element b and head h (head h = features [h·d, (h+1)·d) of rows `stride`
// floats apart, as [B, N, H·d] tensors are laid out):
//
//   out[b, i, h] = Σ_j softmax_j(scale · q[b, i, h] · k[b, j, h]) · v[b, j, h]
//
// over the valid keys j (kMask[b, j] > 0.5; all keys without a mask); padded keys are never
// read. Rows of padded queries (qMask[b, i] ≤ 0.5 or NaN) and all rows of a set without a
// valid key are zeros. The Nq × Nk map is never stored (FlashAttention, Dao et al. 2022):
// queries go four at a time, one per SIMD lane, keys in blocks of KEY_BLOCK. Per block:
//   S = q·kᵀ                         register tiles of 8 keys × 4 queries
//   m' = max(m, rowmax S)            the online softmax's running maximum, per lane
//   S ← 2^(S − m'),  l ← l·2^(m − m') + Σ S,  O ← O·2^(m − m') + S·V   (tiles of 8 features)
// and at the end out = O / l. Scores are in log2 units (q is scaled by scale·log2 e), so
// e^(s − m) = 2^(s·log2 e − m·log2 e).
//
// Per (b, h) the valid keys are first gathered into scratch space: kᵀ in groups of 8 keys
// (each group d × 8 floats) and v in rows of d floats; a query block is held transposed
// (d × 4 floats), as is its accumulator O. Query rows left over at the end of a set fill a
// last block, repeated (a repeated row is computed twice and written twice, the same values).
// d must be a multiple of 4.
//
// With `fma` (the relaxed-SIMD build), the tiles' multiply-adds and the exp2 polynomial's
// Horner steps are each one `f32x4.relaxed_madd` (fused: rounded once where the hardware has
// FMA), in the same order.

import { add, bytes, exp2Vector, get, int, mul, resetLabels, set, sub, whileLoop } from './wat.mjs';

/** Keys per block of the online softmax (a block's scores, 4 × 256 floats, stay in L1). */
export const KEY_BLOCK = 256;
/** Query rows per block: the four lanes. */
const ROWS = 4;
/** Stands in for −∞ (finite, so that m − m' is never ∞ − ∞). */
const LOWEST = -3e38;

const f32 = (value) => `(f32.const ${value})`;
const splat = (value) => `(v128.const f32x4 ${value} ${value} ${value} ${value})`;
const load = (address, offset = 0) => `(v128.load offset=${offset} ${address})`;
const store = (address, value, offset = 0) => `(v128.store offset=${offset} ${address} ${value})`;
const vadd = (a, b) => `(f32x4.add ${a} ${b})`;
const vmul = (a, b) => `(f32x4.mul ${a} ${b})`;
/** Whether the module being written fuses its multiply-adds (set by fusedAttentionWat). */
let fused = false;
/** a·b + c: one relaxed_madd in the FMA build, a multiply and an add otherwise. */
const vmadd = (a, b, c) => (fused ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : vadd(vmul(a, b), c));
const ifThen = (condition, body) => `(if ${condition} (then ${body}))`;
const ifElse = (condition, then, otherwise) => `(if ${condition} (then ${then}) (else ${otherwise}))`;
const roundUp8 = (x) => `(i32.and ${add(x, int(7))} ${int(-8)})`;
const lines = (...parts) => parts.join('\n');
const lane = (v, i) => `(f32x4.extract_lane ${i} ${v})`;

/** `for (name = 0; name < limit; name += step) body` */
const forUp = (name, limit, body, step = 1) =>
  lines(
    set(name, int(0)),
    whileLoop(`(i32.lt_s ${get(name)} ${limit})`, lines(body, set(name, add(get(name), int(step))))),
  );

/** `target = 2^x` on four lanes, x ≤ 0 (wat.mjs), with this build's multiply-adds. */
const exp2 = (target, x, s = '') => exp2Vector(target, x, s, vmadd);

/**
 * The inner product of both passes, for `count` steps: V vectors y_v = load(A + 16v) and four
 * splats x_r = B[r·bStride] give acc[r][v] += x_r·y_v; then A += aStep, B += bStep.
 * Scores: A walks a group of 8 keys (one feature each step), B the four queries (transposed).
 * Values: A walks v's rows (V·4 features), B the four rows of S (one key each step).
 */
function tile(V, count, [A, aStep], [B, bStride, bStep]) {
  const step = Array.from({ length: V }, (_, v) => set(`y${v}`, load(get(A), 16 * v)));
  for (let r = 0; r < ROWS; r++) {
    step.push(set('x', `(v128.load32_splat offset=${r * bStride} ${get(B)})`));
    for (let v = 0; v < V; v++)
      step.push(
        set(
          acc(r, v),
          fused
            ? `(f32x4.relaxed_madd ${get('x')} ${get(`y${v}`)} ${get(acc(r, v))})`
            : vadd(get(acc(r, v)), vmul(get('x'), get(`y${v}`))),
        ),
      );
  }
  step.push(set(A, add(get(A), aStep)), set(B, add(get(B), bStep)), set('t', sub(get('t'), int(1))));
  return lines(set('t', count), whileLoop(get('t'), lines(...step)));
}

/** Accumulator r, v of a tile. */
const acc = (r, v) => `a${r}_${v}`;

/** Byte address of kᵀ's element for key t, feature p (groups of 8 keys, d × 8 floats each). */
const keyAt = (t, p) =>
  add(
    get('kT'),
    bytes(
      add(
        mul(`(i32.shr_u ${t} ${int(3)})`, mul(get('d'), int(8))),
        add(mul(p, int(8)), `(i32.and ${t} ${int(7)})`),
      ),
    ),
  );

/** Gathers the valid keys of (b, h) into kᵀ and vs; $n = their count. */
function gatherKeys() {
  const copy = lines(
    set('src', add(get('kBatch'), add(bytes(mul(get('j'), get('kStride'))), get('head')))),
    set('src2', add(get('vBatch'), add(bytes(mul(get('j'), get('vStride'))), get('head')))),
    set('dst', add(get('vs'), bytes(mul(get('n'), get('d'))))),
    forUp(
      'p',
      get('d'),
      lines(
        `(f32.store ${keyAt(get('n'), get('p'))} (f32.load ${add(get('src'), bytes(get('p')))}))`,
        `(f32.store ${add(get('dst'), bytes(get('p')))} (f32.load ${add(get('src2'), bytes(get('p')))}))`,
      ),
    ),
    set('n', add(get('n'), int(1))),
  );
  const valid = `(i32.or (i32.eqz ${get('kMask')}) (f32.gt (f32.load ${add(get('kMaskBatch'), bytes(get('j')))}) ${f32(0.5)}))`;
  return lines(
    set('n', int(0)),
    forUp('j', get('nk'), ifThen(valid, copy)),
    // the last group's unused keys: zeros (their scores are replaced by LOWEST)
    set('t', get('n')),
    whileLoop(
      `(i32.lt_s ${get('t')} ${roundUp8(get('n'))})`,
      lines(
        forUp('p', get('d'), `(f32.store ${keyAt(get('t'), get('p'))} ${f32(0)})`),
        set('t', add(get('t'), int(1))),
      ),
    ),
  );
}

/** O[r][c .. c+4V] += Σ_{jj<kb} S[r][jj] · v[j0+jj][c .. c+4V] for the four rows r. */
function valueTile(V) {
  const oAt = (r) => add(get('O'), bytes(add(mul(int(r), get('d')), get('c'))));
  const each = (f) => Array.from({ length: ROWS * V }, (_, i) => f(Math.floor(i / V), i % V));
  return lines(
    ...each((r, v) => set(acc(r, v), load(oAt(r), 16 * v))),
    set('sp', get('S')),
    set('vp', add(get('vs'), bytes(add(mul(get('j0'), get('d')), get('c'))))),
    tile(V, get('kb'), ['vp', bytes(get('d'))], ['sp', 4 * KEY_BLOCK, int(4)]),
    ...each((r, v) => store(oAt(r), get(acc(r, v)), 16 * v)),
  );
}

/** Row r of the online softmax over a key block (scores in log2 units): m', α, S ← 2^(S − m'), l, O·α. */
function softmaxRow() {
  const at = add(get('row'), bytes(get('t')));
  const hsum = (v) => `(f32.add (f32.add ${lane(v, 0)} ${lane(v, 1)}) (f32.add ${lane(v, 2)} ${lane(v, 3)}))`;
  const hmax = (v) => `(f32.max (f32.max ${lane(v, 0)} ${lane(v, 1)}) (f32.max ${lane(v, 2)} ${lane(v, 3)}))`;
  const mAt = add(get('ml'), bytes(get('r')));
  const lAt = add(get('ml'), bytes(add(get('r'), int(ROWS))));
  return lines(
    set('row', add(get('S'), bytes(mul(get('r'), int(KEY_BLOCK))))),
    // the block's maximum: two chains of pmax (one instruction; a NaN score still reaches l)
    set('vm', `(f32x4.splat (f32.load ${mAt}))`),
    set('vm2', get('vm')),
    forUp(
      't',
      get('kbPad'),
      lines(
        set('vm', `(f32x4.pmax ${get('vm')} ${load(at)})`),
        set('vm2', `(f32x4.pmax ${get('vm2')} ${load(at, 16)})`),
      ),
      8,
    ),
    set('vm', `(f32x4.splat ${hmax(`(f32x4.pmax ${get('vm')} ${get('vm2')})`)})`),
    exp2('alpha', `(f32x4.sub (f32x4.splat (f32.load ${mAt})) ${get('vm')})`),
    `(f32.store ${mAt} ${lane(get('vm'), 0)})`,
    set('vsum', splat(0)),
    set('vsum2', splat(0)),
    forUp(
      't',
      get('kbPad'),
      lines(
        set('at', at),
        exp2('e', `(f32x4.sub ${load(get('at'))} ${get('vm')})`),
        exp2('e2', `(f32x4.sub ${load(get('at'), 16)} ${get('vm')})`, '2'),
        store(get('at'), get('e')),
        store(get('at'), get('e2'), 16),
        set('vsum', vadd(get('vsum'), get('e'))),
        set('vsum2', vadd(get('vsum2'), get('e2'))),
      ),
      8,
    ),
    `(f32.store ${lAt} (f32.add (f32.mul (f32.load ${lAt}) ${lane(get('alpha'), 0)}) ${hsum(vadd(get('vsum'), get('vsum2')))}))`,
    set('row', add(get('O'), bytes(mul(get('r'), get('d'))))),
    forUp('t', get('d'), store(at, vmul(load(at), get('alpha'))), 4),
  );
}

/** One key block of the query block: scores, online softmax, values. */
function keyBlock() {
  const each = (f) => Array.from({ length: ROWS * 2 }, (_, i) => f(Math.floor(i / 2), i % 2));
  const sAt = (r) => add(get('S'), bytes(add(int(r * KEY_BLOCK), get('jj'))));
  const scores = lines(
    ...each((r, v) => set(acc(r, v), splat(0))),
    set('qp', get('qs')),
    set('kp', add(get('kT'), bytes(mul(add(get('j0'), get('jj')), get('d'))))),
    tile(2, get('d'), ['kp', int(32)], ['qp', 4, int(16)]),
    ...each((r, v) => store(sAt(r), get(acc(r, v)), 16 * v)),
  );
  return lines(
    set(
      'kb',
      `(select ${int(KEY_BLOCK)} ${sub(get('n'), get('j0'))} (i32.lt_s ${int(KEY_BLOCK)} ${sub(get('n'), get('j0'))}))`,
    ),
    set('kbPad', roundUp8(get('kb'))),
    forUp('jj', get('kbPad'), scores, 8),
    // keys past the last valid one in the group: no weight
    forUp(
      'r',
      int(ROWS),
      lines(
        set('t', get('kb')),
        whileLoop(
          `(i32.lt_s ${get('t')} ${get('kbPad')})`,
          lines(
            `(f32.store ${add(get('S'), bytes(add(mul(get('r'), int(KEY_BLOCK)), get('t'))))} ${f32(LOWEST)})`,
            set('t', add(get('t'), int(1))),
          ),
        ),
      ),
    ),
    forUp('r', int(ROWS), softmaxRow()),
    // O += S·V, 8 features at a time, then 4
    set('c', int(0)),
    whileLoop(
      `(i32.le_s ${add(get('c'), int(8))} ${get('d')})`,
      lines(valueTile(2), set('c', add(get('c'), int(8)))),
    ),
    ifThen(`(i32.lt_s ${get('c')} ${get('d')})`, valueTile(1)),
  );
}

/** The four queries idx[0..4) of (b, h): gather (transposed, scaled), every key block, out = O / l. */
function queryBlock() {
  const row = (base, stride) =>
    add(
      get(base),
      add(bytes(mul(`(i32.load ${add(get('idx'), bytes(get('r')))})`, get(stride))), get('head')),
    );
  const oRow = add(get('O'), bytes(mul(get('r'), get('d'))));
  const gather = forUp(
    'r',
    int(ROWS),
    lines(
      set('src', row('qBatch', 'qStride')),
      forUp(
        'p',
        get('d'),
        `(f32.store ${add(get('qs'), bytes(add(`(i32.shl ${get('p')} ${int(2)})`, get('r'))))} (f32.mul (f32.load ${add(get('src'), bytes(get('p')))}) ${get('scale2')}))`,
      ),
      set('dst', oRow),
      forUp('t', get('d'), store(add(get('dst'), bytes(get('t'))), splat(0)), 4),
      `(f32.store ${add(get('ml'), bytes(get('r')))} ${f32(LOWEST)})`,
      `(f32.store ${add(get('ml'), bytes(add(get('r'), int(ROWS))))} ${f32(0)})`,
    ),
  );
  const write = forUp(
    'r',
    int(ROWS),
    lines(
      set('dst', row('oBatch', 'oStride')),
      set('src', oRow),
      set('vm', `(f32x4.splat (f32.load ${add(get('ml'), bytes(add(get('r'), int(ROWS))))}))`),
      forUp(
        't',
        get('d'),
        store(
          add(get('dst'), bytes(get('t'))),
          `(f32x4.div ${load(add(get('src'), bytes(get('t'))))} ${get('vm')})`,
        ),
        4,
      ),
    ),
  );
  return lines(gather, forUp('j0', get('n'), keyBlock(), KEY_BLOCK), write);
}

/** All query rows of (b, h): padded ones (every one, without a valid key) zero, the others in blocks of four. */
function queryRows() {
  const oRow = add(get('oBatch'), add(bytes(mul(get('i'), get('oStride'))), get('head')));
  const padded = `(i32.or (i32.eqz ${get('n')}) (i32.and (i32.ne ${get('qMask')} ${int(0)}) (i32.eqz (f32.gt (f32.load ${add(get('qMaskBatch'), bytes(get('i')))}) ${f32(0.5)}))))`;
  const zeroRow = lines(
    set('dst', oRow),
    forUp('t', get('d'), store(add(get('dst'), bytes(get('t'))), splat(0)), 4),
  );
  const idxAt = (i) => add(get('idx'), bytes(i));
  const queue = lines(
    `(i32.store ${idxAt(get('count'))} ${get('i')})`,
    set('count', add(get('count'), int(1))),
  );
  // a last, partial block: its last row repeated
  const full = `(i32.or (i32.eq ${get('count')} ${int(ROWS)}) (i32.and (i32.eq ${get('i')} ${sub(get('nq'), int(1))}) (i32.ne ${get('count')} ${int(0)})))`;
  // a last, partial block: its last row repeated
  const block = lines(
    whileLoop(
      `(i32.lt_s ${get('count')} ${int(ROWS)})`,
      lines(
        `(i32.store ${idxAt(get('count'))} (i32.load ${idxAt(sub(get('count'), int(1)))}))`,
        set('count', add(get('count'), int(1))),
      ),
    ),
    queryBlock(),
    set('count', int(0)),
  );
  return lines(
    set('count', int(0)),
    forUp('i', get('nq'), lines(ifElse(padded, zeroRow, queue), ifThen(full, block))),
  );
}

function locals() {
  const v128 = [
    'x',
    'y0',
    'y1',
    'alpha',
    'vm',
    'vm2',
    'e',
    'e2',
    'vsum',
    'vsum2',
    'ex',
    'en',
    'ep',
    'ex2',
    'en2',
    'ep2',
  ];
  for (let r = 0; r < ROWS; r++) v128.push(acc(r, 0), acc(r, 1));
  const i32 = [
    'b',
    'h',
    'i',
    'j',
    'p',
    't',
    'r',
    'c',
    'n',
    'jj',
    'j0',
    'kb',
    'kbPad',
    'count',
    'head',
    'nkPad',
    'row',
  ];
  i32.push('kT', 'vs', 'qs', 'S', 'O', 'ml', 'idx', 'qp', 'kp', 'sp', 'vp', 'src', 'src2', 'dst', 'at');
  i32.push('qBatch', 'kBatch', 'vBatch', 'oBatch', 'qMaskBatch', 'kMaskBatch');
  return lines(
    v128.map((name) => `(local $${name} v128)`).join(' '),
    i32.map((name) => `(local $${name} i32)`).join(' '),
    '(local $scale2 f32)',
  );
}

/** Floats of scratch space for `nk` keys of `d` features: kᵀ, v, q and O (transposed), S, row indices. */
const scratchFloats = (nk, d) =>
  add(add(mul(mul(int(2), d), roundUp8(nk)), mul(int(2 * ROWS), d)), int(ROWS * KEY_BLOCK + 3 * ROWS));

/**
 * The whole module: exports `attention(q, k, v, out, qMask, kMask, batch, heads, nq, nk, d,
 * qStride, kStride, vStride, oStride, scale, scratch)` and `scratchBytes(nk, d)`, and its own
 * `memory`, or with `importMemory` computes in the memory it is given as `env.memory`.
 * Addresses in bytes, strides in floats; a mask address of 0 means no mask; `scratch`
 * (16-byte aligned) holds `scratchBytes(nk, d)` bytes. With `fma`, multiply-adds are fused
 * (relaxed SIMD).
 */
export function fusedAttentionWat({ importMemory = false, fma = false } = {}) {
  resetLabels();
  fused = fma;
  const perBatch = (name, base, rows, stride) =>
    set(name, add(get(base), bytes(mul(mul(get('b'), get(rows)), stride))));
  const body = lines(
    set('scale2', `(f32.mul ${get('scale')} ${f32(Math.LOG2E)})`),
    set('nkPad', roundUp8(get('nk'))),
    set('kT', get('scratch')),
    set('vs', add(get('kT'), bytes(mul(get('d'), get('nkPad'))))),
    set('qs', add(get('vs'), bytes(mul(get('d'), get('nkPad'))))),
    set('O', add(get('qs'), bytes(mul(int(ROWS), get('d'))))),
    set('S', add(get('O'), bytes(mul(int(ROWS), get('d'))))),
    set('ml', add(get('S'), int(4 * ROWS * KEY_BLOCK))),
    set('idx', add(get('ml'), int(4 * 2 * ROWS))),
    forUp(
      'b',
      get('batch'),
      lines(
        perBatch('qBatch', 'q', 'nq', get('qStride')),
        perBatch('kBatch', 'k', 'nk', get('kStride')),
        perBatch('vBatch', 'v', 'nk', get('vStride')),
        perBatch('oBatch', 'out', 'nq', get('oStride')),
        perBatch('qMaskBatch', 'qMask', 'nq', int(1)),
        perBatch('kMaskBatch', 'kMask', 'nk', int(1)),
        forUp(
          'h',
          get('heads'),
          lines(set('head', bytes(mul(get('h'), get('d')))), gatherKeys(), queryRows()),
        ),
      ),
    ),
  );
  return `(module
${importMemory ? '(import "env" "memory" (memory 1))' : '(memory (export "memory") 1)'}
(func (export "attention") (param $q i32) (param $k i32) (param $v i32) (param $out i32)
      (param $qMask i32) (param $kMask i32)
      (param $batch i32) (param $heads i32) (param $nq i32) (param $nk i32) (param $d i32)
      (param $qStride i32) (param $kStride i32) (param $vStride i32) (param $oStride i32)
      (param $scale f32) (param $scratch i32)
${locals()}
${body})
(func (export "scratchBytes") (param $nk i32) (param $d i32) (result i32)
${bytes(scratchFloats(get('nk'), get('d')))})
)`;
}
