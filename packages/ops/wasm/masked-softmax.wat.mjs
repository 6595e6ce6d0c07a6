// Source of the masked softmax kernel (WebAssembly text with 128-bit SIMD), forward and
// backward. `node wasm/build.mjs` assembles it into src/masked-softmax-wasm.ts, twice: with a
// memory of its own, and importing a memory (env.memory) to compute in place on tfjs-wasm's heap.
//
// Rows of nk floats, row r of set c = ⌊r / nq⌋ (logits [C, nq, nk] row-major):
//
//   forward:   A[r, j] = exp(s·(x[r, j] − m_r)) / Σ_valid exp(s·(x[r, j'] − m_r)),  m_r = max_valid x[r, j]
//              over the valid keys j (no key mask, or keyMask[c, j] > 0.5); A = 0 at padded keys
//              (never read: a NaN there stays out), in rows of padded queries (queryMask[r] ≤ 0.5
//              or NaN) and in rows without a valid key.
//              (the softmax of the logits scaled by s > 0: attention's 1/√d folded in)
//   backward:  dx[r, j] = (dy·A − (Σ_j' dy·A)·A)·s   (the softmax's gradient written out from A;
//              0 wherever A is)
//
// exp(t) = 2^(t·log2 e) through wat.mjs's exp2 polynomial (relative error ≈ 1e-7). Four keys per
// vector, then the last nk mod 4 one at a time (on a splatted lane).

import { add, exp2Vector, get, int, mul, overBytes, resetLabels, set, whileLoop } from './wat.mjs';

/** Stands in for −∞ in the running maximum. */
const LOWEST = -3e38;
const LOG2E = Math.LOG2E;

const lines = (...parts) => parts.join('\n');
const splat = (value) => `(v128.const f32x4 ${value} ${value} ${value} ${value})`;
const madd = (a, b, c) => `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;
const ifThen = (condition, body) => `(if ${condition} (then ${body}))`;
const lane = (v, i) => `(f32x4.extract_lane ${i} ${v})`;

/** Four lanes (v128) or one float (f32) at byte offset o of a row; locals `<name>_v` / `<name>_f`. */
const VECTOR = {
  load: (base) => `(v128.load ${add(get(base), get('o'))})`,
  store: (base, value) => `(v128.store ${add(get(base), get('o'))} ${value})`,
  op: (name, ...args) => `(f32x4.${name} ${args.join(' ')})`,
  splat: (scalar) => `(f32x4.splat ${scalar})`,
  /** x where valid, else `otherwise` (valid: all-ones lanes). */
  select: (x, otherwise, valid) => `(v128.bitselect ${x} ${otherwise} ${valid})`,
  /** valid lanes of the key mask as all-ones lanes. */
  valid: (at) => `(f32x4.gt (v128.load ${at}) ${splat(0.5)})`,
  all: '(v128.const i32x4 -1 -1 -1 -1)',
  exp: (t) => lines(set('ts_v', t), exp2Vector('e_v', get('ts_v'), '', madd)),
  l: (name) => get(`${name}_v`),
  s: (name, value) => set(`${name}_v`, value),
  zero: splat(0),
};
const SCALAR = {
  load: (base) => `(f32.load ${add(get(base), get('o'))})`,
  store: (base, value) => `(f32.store ${add(get(base), get('o'))} ${value})`,
  op: (name, ...args) => `(f32.${name} ${args.join(' ')})`,
  splat: (scalar) => scalar,
  select: (x, otherwise, valid) => `(select ${x} ${otherwise} ${valid})`,
  valid: (at) => `(f32.gt (f32.load ${at}) (f32.const 0.5))`,
  all: int(1),
  exp: (t) =>
    lines(
      set('ts_v', `(f32x4.splat ${t})`),
      exp2Vector('e_v', get('ts_v'), '', madd),
      set('e_f', lane(get('e_v'), 0)),
    ),
  l: (name) => get(`${name}_f`),
  s: (name, value) => set(`${name}_f`, value),
  zero: '(f32.const 0)',
};

/** `body(k)` over the byte offsets o of the row: in vectors (k = VECTOR), then single floats (k = SCALAR). */
function overRow(body) {
  return overBytes('rowBytes', body(VECTOR), body(SCALAR));
}

/** The key mask's lanes at offset o (all valid without a key mask). */
const validKeys = (k) =>
  `(if (result ${k === VECTOR ? 'v128' : 'i32'}) ${get('keyMask')} (then ${k.valid(add(get('kRow'), get('o')))}) (else ${k.all}))`;

const hmax = (v) => `(f32.max (f32.max ${lane(v, 0)} ${lane(v, 1)}) (f32.max ${lane(v, 2)} ${lane(v, 3)}))`;
const hsum = (v) => `(f32.add (f32.add ${lane(v, 0)} ${lane(v, 1)}) (f32.add ${lane(v, 2)} ${lane(v, 3)}))`;

/** `for (r = 0; r < rows; r++) { body; xRow, outRow += rowBytes }` (kRow: the row's key-mask row). */
function overRows(pointers, body) {
  return lines(
    set('rowBytes', mul(get('nk'), int(4))),
    set('r', int(0)),
    whileLoop(
      `(i32.lt_s ${get('r')} ${get('rows')})`,
      lines(
        body,
        ...pointers.map((p) => set(p, add(get(p), get('rowBytes')))),
        set('r', add(get('r'), int(1))),
      ),
    ),
  );
}

function forward() {
  const zeroRow = overRow((k) => k.store('yRow', k.zero));
  return lines(
    set('scaleLog2e', `(f32.mul ${get('scale')} (f32.const ${LOG2E}))`),
    set('xRow', get('x')),
    set('yRow', get('y')),
    overRows(
      ['xRow', 'yRow'],
      `(block $row
        ${set('kRow', add(get('keyMask'), mul(`(i32.div_u ${get('r')} ${get('nq')})`, get('rowBytes'))))}
        ;; a padded query: zeros
        ${ifThen(
          `(i32.and (i32.ne ${get('queryMask')} ${int(0)}) (i32.eqz (f32.gt (f32.load ${add(get('queryMask'), mul(get('r'), int(4)))}) (f32.const 0.5))))`,
          lines(zeroRow, '(br $row)'),
        )}
        ;; m = max over the valid keys
        ${VECTOR.s('m', splat(LOWEST))}
        ${SCALAR.s('m', `(f32.const ${LOWEST})`)}
        ${overRow((k) =>
          k.s(
            'm',
            k === VECTOR
              ? `(f32x4.pmax ${k.l('m')} ${k.select(k.load('xRow'), splat(LOWEST), validKeys(k))})`
              : `(f32.max ${k.l('m')} ${k.select(k.load('xRow'), `(f32.const ${LOWEST})`, validKeys(k))})`,
          ),
        )}
        ${set('max', `(f32.max ${hmax(VECTOR.l('m'))} ${SCALAR.l('m')})`)}
        ;; no valid key: zeros
        ${ifThen(`(f32.le ${get('max')} (f32.const ${LOWEST}))`, lines(zeroRow, '(br $row)'))}
        ;; e = exp(s·(x − m)) at the valid keys, 0 elsewhere; their sum
        ${VECTOR.s('sum', VECTOR.zero)}
        ${SCALAR.s('sum', SCALAR.zero)}
        ${overRow((k) =>
          lines(
            k.exp(k.op('mul', k.op('sub', k.load('xRow'), k.splat(get('max'))), k.splat(get('scaleLog2e')))),
            k.s('e', k.select(k.l('e'), k.zero, validKeys(k))),
            k.store('yRow', k.l('e')),
            k.s('sum', k.op('add', k.l('sum'), k.l('e'))),
          ),
        )}
        ${set('total', `(f32.add ${hsum(VECTOR.l('sum'))} ${SCALAR.l('sum')})`)}
        ;; A = e / Σ e
        ${overRow((k) => k.store('yRow', k.op('div', k.load('yRow'), k.splat(get('total')))))})`,
    ),
  );
}

function backward() {
  return lines(
    set('dyRow', get('dy')),
    set('yRow', get('y')),
    set('xRow', get('dx')),
    overRows(
      ['dyRow', 'yRow', 'xRow'],
      lines(
        // Σ = Σ_j dy·A; dy·A into dx
        VECTOR.s('sum', VECTOR.zero),
        SCALAR.s('sum', SCALAR.zero),
        overRow((k) =>
          lines(
            k.s('e', k.op('mul', k.load('dyRow'), k.load('yRow'))),
            k.store('xRow', k.l('e')),
            k.s('sum', k.op('add', k.l('sum'), k.l('e'))),
          ),
        ),
        set('total', `(f32.add ${hsum(VECTOR.l('sum'))} ${SCALAR.l('sum')})`),
        // dx = (dy·A − Σ·A)·scale
        overRow((k) =>
          k.store(
            'xRow',
            k.op(
              'mul',
              k.op('sub', k.load('xRow'), k.op('mul', k.splat(get('total')), k.load('yRow'))),
              k.splat(get('scale')),
            ),
          ),
        ),
      ),
    ),
  );
}

const params = (names, type) => names.map((n) => `(param $${n} ${type})`).join(' ');
const locals = (names, type) => names.map((n) => `(local $${n} ${type})`).join(' ');

/**
 * The whole module: exports `forward(x, keyMask, queryMask, y, rows, nq, nk, scale)` (byte
 * addresses; a mask at address 0 = none; rows = C·nq) and `backward(dy, y, dx, rows, nk, scale)`, and its own
 * `memory`, or with `importMemory` computes in the memory it is given as `env.memory`.
 */
export function maskedSoftmaxWat({ importMemory = false } = {}) {
  resetLabels();
  const temporaries = [
    locals(['m_v', 'sum_v', 'e_v', 'ts_v', 'ex', 'en', 'ep'], 'v128'),
    locals(['m_f', 'sum_f', 'e_f', 'max', 'total'], 'f32'),
  ];
  return `(module
${importMemory ? '(import "env" "memory" (memory 1))' : '(memory (export "memory") 1)'}
(func (export "forward") ${params(['x', 'keyMask', 'queryMask', 'y', 'rows', 'nq', 'nk'], 'i32')} (param $scale f32)
  ${locals(['r', 'o', 'rowBytes', 'xRow', 'yRow', 'kRow'], 'i32')} (local $scaleLog2e f32)
  ${temporaries.join('\n  ')}
${forward()})
(func (export "backward") ${params(['dy', 'y', 'dx', 'rows', 'nk'], 'i32')} (param $scale f32)
  ${locals(['r', 'o', 'rowBytes', 'xRow', 'yRow', 'dyRow'], 'i32')}
  ${temporaries.join('\n  ')}
${backward()})
)`;
}
