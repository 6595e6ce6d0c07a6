// Source of the fused residual LayerNorm kernel (WebAssembly text with 128-bit SIMD).
// `node wasm/build.mjs` assembles it into src/layer-norm-wasm.ts, twice: with a memory of its
// own, and importing a memory (env.memory) to compute in place on tfjs-wasm's heap.
//
// Rows of C floats (row-major [rows, C]); s = x + r (r optional: address 0 = none):
//
//   forward:   μ = Σ s / C,  ρ = 1/√(Σ (s − μ)² / C + ε),  y = (s − μ)·ρ·γ + β,  stats = (μ, ρ)
//   backward:  x̂ = (s − μ)·ρ,  g = dy·γ,
//              dx = ρ·(g − Σ g / C − x̂·Σ g·x̂ / C),  dγ = Σ_rows dy·x̂,  dβ = Σ_rows dy
//
// (biased variance, as PyTorch and tf.moments). Each row is read in vectors of four floats,
// then the last C mod 4 one at a time; a row's sums add the four lanes at the end. The output
// buffer holds s − μ (forward) and x̂ (backward) between passes, so no scratch is needed.

import { add, get, int, mul, overBytes, resetLabels, set, whileLoop } from './wat.mjs';

const lines = (...parts) => parts.join('\n');

/** Element-wise operations on four lanes (v128) or one float (f32), on locals `<name>_v` / `<name>_f`. */
const VECTOR = {
  type: 'v128',
  l: (name) => get(`${name}_v`),
  s: (name, value) => set(`${name}_v`, value),
  load: (base) => `(v128.load ${add(get(base), get('o'))})`,
  store: (base, value) => `(v128.store ${add(get(base), get('o'))} ${value})`,
  add: (a, b) => `(f32x4.add ${a} ${b})`,
  sub: (a, b) => `(f32x4.sub ${a} ${b})`,
  mul: (a, b) => `(f32x4.mul ${a} ${b})`,
  splat: (scalar) => `(f32x4.splat ${scalar})`,
  zero: '(v128.const i32x4 0 0 0 0)',
};
const SCALAR = {
  type: 'f32',
  l: (name) => get(`${name}_f`),
  s: (name, value) => set(`${name}_f`, value),
  load: (base) => `(f32.load ${add(get(base), get('o'))})`,
  store: (base, value) => `(f32.store ${add(get(base), get('o'))} ${value})`,
  add: (a, b) => `(f32.add ${a} ${b})`,
  sub: (a, b) => `(f32.sub ${a} ${b})`,
  mul: (a, b) => `(f32.mul ${a} ${b})`,
  splat: (scalar) => scalar,
  zero: '(f32.const 0)',
};

/** `body(k)` over the row's byte offsets `o`: in vectors (k = VECTOR), then single floats (k = SCALAR). */
function overRow(body) {
  return overBytes('rowBytes', body(VECTOR), body(SCALAR));
}

/** Zeroes the accumulators `names` (both widths). */
const zeroSums = (...names) =>
  lines(...names.flatMap((n) => [VECTOR.s(n, VECTOR.zero), SCALAR.s(n, SCALAR.zero)]));

/** The sum of accumulator `name` over its four lanes and its scalar tail, as f32. */
function total(name) {
  const lane = (i) => `(f32x4.extract_lane ${i} ${VECTOR.l(name)})`;
  return `(f32.add (f32.add (f32.add (f32.add ${lane(0)} ${lane(1)}) ${lane(2)}) ${lane(3)}) ${SCALAR.l(name)})`;
}

/** s = x (+ r) at offset o of the current rows. */
const summed = (k) =>
  `(if (result ${k.type}) ${get('r')} (then ${k.add(k.load('xr'), k.load('rr'))}) (else ${k.load('xr')}))`;

/** `for (i = 0; i < rows; i++) { body; every row pointer += rowBytes }` */
function overRows(pointers, body) {
  return lines(
    set('i', int(0)),
    whileLoop(
      `(i32.lt_s ${get('i')} ${get('rows')})`,
      lines(
        body,
        ...pointers.map((p) => set(p, add(get(p), get('rowBytes')))),
        set('stat', add(get('stat'), int(8))),
        set('i', add(get('i'), int(1))),
      ),
    ),
  );
}

function forward() {
  return lines(
    set('rowBytes', mul(get('c'), int(4))),
    set('count', `(f32.convert_i32_s ${get('c')})`),
    set('xr', get('x')),
    set('rr', get('r')),
    set('yr', get('y')),
    set('stat', get('stats')),
    overRows(
      ['xr', 'rr', 'yr'],
      lines(
        // μ: s into y, summed
        zeroSums('sum'),
        overRow((k) =>
          lines(k.s('t', summed(k)), k.store('yr', k.l('t')), k.s('sum', k.add(k.l('sum'), k.l('t')))),
        ),
        set('mean', `(f32.div ${total('sum')} ${get('count')})`),
        // ρ: s − μ into y, its squares summed
        zeroSums('sum'),
        overRow((k) =>
          lines(
            k.s('t', k.sub(k.load('yr'), k.splat(get('mean')))),
            k.store('yr', k.l('t')),
            k.s('sum', k.add(k.l('sum'), k.mul(k.l('t'), k.l('t')))),
          ),
        ),
        set(
          'rstd',
          `(f32.div (f32.const 1) (f32.sqrt (f32.add (f32.div ${total('sum')} ${get('count')}) ${get('epsilon')})))`,
        ),
        // y = (s − μ)·ρ·γ + β
        overRow((k) =>
          k.store(
            'yr',
            k.add(k.mul(k.mul(k.load('yr'), k.splat(get('rstd'))), k.load('gamma')), k.load('beta')),
          ),
        ),
        `(f32.store ${get('stat')} ${get('mean')})`,
        `(f32.store offset=4 ${get('stat')} ${get('rstd')})`,
      ),
    ),
  );
}

function backward() {
  return lines(
    set('rowBytes', mul(get('c'), int(4))),
    set('count', `(f32.convert_i32_s ${get('c')})`),
    // dγ = dβ = 0
    set('o', int(0)),
    whileLoop(
      `(i32.lt_s ${get('o')} ${get('rowBytes')})`,
      lines(
        `(f32.store ${add(get('dGamma'), get('o'))} (f32.const 0))`,
        `(f32.store ${add(get('dBeta'), get('o'))} (f32.const 0))`,
        set('o', add(get('o'), int(4))),
      ),
    ),
    set('xr', get('x')),
    set('rr', get('r')),
    set('dyr', get('dy')),
    set('dxr', get('dx')),
    set('stat', get('stats')),
    overRows(
      ['xr', 'rr', 'dyr', 'dxr'],
      lines(
        set('mean', `(f32.load ${get('stat')})`),
        set('rstd', `(f32.load offset=4 ${get('stat')})`),
        // x̂ into dx; Σ g, Σ g·x̂ over the row; dγ += dy·x̂, dβ += dy
        zeroSums('sum', 'sumX'),
        overRow((k) =>
          lines(
            k.s('t', k.mul(k.sub(summed(k), k.splat(get('mean'))), k.splat(get('rstd')))),
            k.store('dxr', k.l('t')),
            k.s('u', k.load('dyr')),
            k.s('g', k.mul(k.l('u'), k.load('gamma'))),
            k.s('sum', k.add(k.l('sum'), k.l('g'))),
            k.s('sumX', k.add(k.l('sumX'), k.mul(k.l('g'), k.l('t')))),
            k.store('dGamma', k.add(k.load('dGamma'), k.mul(k.l('u'), k.l('t')))),
            k.store('dBeta', k.add(k.load('dBeta'), k.l('u'))),
          ),
        ),
        set('mean', `(f32.div ${total('sum')} ${get('count')})`), // now mean(g)
        set('meanX', `(f32.div ${total('sumX')} ${get('count')})`),
        // dx = ρ·(g − mean(g) − x̂·mean(g·x̂))
        overRow((k) =>
          k.store(
            'dxr',
            k.mul(
              k.sub(
                k.sub(k.mul(k.load('dyr'), k.load('gamma')), k.splat(get('mean'))),
                k.mul(k.load('dxr'), k.splat(get('meanX'))),
              ),
              k.splat(get('rstd')),
            ),
          ),
        ),
      ),
    ),
  );
}

function locals(names, type) {
  return names.map((n) => `(local $${n} ${type})`).join(' ');
}

/**
 * The whole module: exports `forward(x, r, gamma, beta, y, stats, rows, c, epsilon)` and
 * `backward(dy, x, r, gamma, stats, dx, dGamma, dBeta, rows, c)` (byte addresses; r = 0: no
 * residual; stats = rows × (μ, ρ)), and its own `memory`, or with `importMemory` computes in
 * the memory it is given as `env.memory`.
 */
export function layerNormWat({ importMemory = false } = {}) {
  resetLabels();
  const vectorLocals = (names) =>
    [
      locals(
        names.map((n) => `${n}_v`),
        'v128',
      ),
      locals(
        names.map((n) => `${n}_f`),
        'f32',
      ),
    ].join(' ');
  return `(module
${importMemory ? '(import "env" "memory" (memory 1))' : '(memory (export "memory") 1)'}
(func (export "forward") (param $x i32) (param $r i32) (param $gamma i32) (param $beta i32)
      (param $y i32) (param $stats i32) (param $rows i32) (param $c i32) (param $epsilon f32)
${locals(['i', 'o', 'rowBytes', 'xr', 'rr', 'yr', 'stat'], 'i32')}
${locals(['mean', 'rstd', 'count'], 'f32')}
${vectorLocals(['t', 'sum'])}
${forward()})
(func (export "backward") (param $dy i32) (param $x i32) (param $r i32) (param $gamma i32)
      (param $stats i32) (param $dx i32) (param $dGamma i32) (param $dBeta i32)
      (param $rows i32) (param $c i32)
${locals(['i', 'o', 'rowBytes', 'xr', 'rr', 'dyr', 'dxr', 'stat'], 'i32')}
${locals(['mean', 'rstd', 'meanX', 'count'], 'f32')}
${vectorLocals(['t', 'u', 'g', 'sum', 'sumX'])}
${backward()})
)`;
}
