// Source of Adam's element-wise update kernel (WebAssembly text with 128-bit SIMD).
// `node wasm/build.mjs` assembles it into src/adam-wasm.ts, twice: with a memory of its own,
// and importing a memory (env.memory) to compute in place on tfjs-wasm's heap.
//
// For every element of one variable (Kingma & Ba 2015, Algorithm 1; ĝ = g·scale, the clipped
// gradient):
//
//   m' = β₁·m + (1 − β₁)·ĝ        v' = β₂·v + (1 − β₂)·ĝ²
//   x' = x + (−lr)·(m'/(1 − β₁ᵗ)) / (√(v'/(1 − β₂ᵗ)) + ε)
//
// one float32 operation at a time, in the order tfjs's AdamOptimizer runs them as tensor ops,
// so the results are the same bits (f32x4 add, mul, div and sqrt round as those ops do).
// Four elements per vector, then the last size mod 4 one at a time.

import { add, get, int, overBytes, resetLabels, set } from './wat.mjs';

const lines = (...parts) => parts.join('\n');

/** Four lanes (v128) or one float (f32), on locals `<name>_v` / `<name>_f`. */
const VECTOR = {
  bytes: 16,
  load: (base) => `(v128.load ${add(get(base), get('o'))})`,
  store: (base, value) => `(v128.store ${add(get(base), get('o'))} ${value})`,
  op: (name, ...args) => `(f32x4.${name} ${args.join(' ')})`,
  constant: (name) => `(f32x4.splat ${get(name)})`,
  l: (name) => get(`${name}_v`),
  s: (name, value) => set(`${name}_v`, value),
};
const SCALAR = {
  bytes: 4,
  load: (base) => `(f32.load ${add(get(base), get('o'))})`,
  store: (base, value) => `(f32.store ${add(get(base), get('o'))} ${value})`,
  op: (name, ...args) => `(f32.${name} ${args.join(' ')})`,
  constant: (name) => get(name),
  l: (name) => get(`${name}_f`),
  s: (name, value) => set(`${name}_f`, value),
};

/** One element (k = SCALAR) or four (k = VECTOR) at byte offset o. */
function update(k) {
  const { op, constant: c } = k;
  return lines(
    k.s('g', op('mul', k.load('g'), c('scale'))), // ĝ = g·scale
    k.s('m', op('add', op('mul', k.load('m'), c('beta1')), op('mul', k.l('g'), c('oneMinusBeta1')))),
    k.s(
      'v',
      op(
        'add',
        op('mul', k.load('v'), c('beta2')),
        op('mul', op('mul', k.l('g'), k.l('g')), c('oneMinusBeta2')),
      ),
    ),
    k.store('mOut', k.l('m')),
    k.store('vOut', k.l('v')),
    k.s('m', op('div', k.l('m'), c('bias1'))), // m̂
    k.s('v', op('div', k.l('v'), c('bias2'))), // v̂
    k.store(
      'xOut',
      op(
        'add',
        op('mul', op('div', k.l('m'), op('add', op('sqrt', k.l('v')), c('epsilon'))), c('step')),
        k.load('x'),
      ),
    ),
  );
}

/** `body(k)` over the byte offsets o of `size` floats: in vectors, then single floats. */
function overElements(body) {
  return lines(
    set('bytes', `(i32.shl ${get('size')} ${int(2)})`),
    overBytes('bytes', body(VECTOR), body(SCALAR)),
  );
}

const params = (names, type) => names.map((n) => `(param $${n} ${type})`).join(' ');
const locals = (names, type) => names.map((n) => `(local $${n} ${type})`).join(' ');

/**
 * The whole module: exports `update(x, g, m, v, xOut, mOut, vOut, size, beta1, beta2,
 * oneMinusBeta1, oneMinusBeta2, bias1, bias2, epsilon, step, scale)` (byte addresses; bias1,2 =
 * 1 − β₁ᵗ, 1 − β₂ᵗ; step = −lr; every constant as float32) and its own `memory`, or with
 * `importMemory` computes in the memory it is given as `env.memory`.
 */
export function adamWat({ importMemory = false } = {}) {
  resetLabels();
  const temporaries = ['g', 'm', 'v'];
  return `(module
${importMemory ? '(import "env" "memory" (memory 1))' : '(memory (export "memory") 1)'}
(func (export "update")
  ${params(['x', 'g', 'm', 'v', 'xOut', 'mOut', 'vOut', 'size'], 'i32')}
  ${params(['beta1', 'beta2', 'oneMinusBeta1', 'oneMinusBeta2', 'bias1', 'bias2', 'epsilon', 'step', 'scale'], 'f32')}
  ${locals(['o', 'bytes'], 'i32')}
  ${locals(
    temporaries.map((n) => `${n}_v`),
    'v128',
  )}
  ${locals(
    temporaries.map((n) => `${n}_f`),
    'f32',
  )}
${overElements(update)})
)`;
}
