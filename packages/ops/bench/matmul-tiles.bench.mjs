// The matrix product kernel's builds side by side, called directly (no tfjs): the plain SIMD
// kernel (4×8 tiles) and FMA builds with other main tiles, on the products that dominate a
// one-shot set VAE training step (n = 9: [1152,64]·[64,64] as X·W, dY·Wᵀ and Xᵀ·dY, 37 each per
// step) and its attention slices. Needs relaxed SIMD: on Node 20
//   node --experimental-wasm-relaxed-simd bench/matmul-tiles.bench.mjs [--runs 200]
// One JSON line per (build, product): median µs of a call and G multiply-adds/s.
import { assemble } from '../wasm/build.mjs';

const argv = process.argv.slice(2);
const runs = argv.includes('--runs') ? Number(argv[argv.indexOf('--runs') + 1]) : 200;
const BUILDS = [
  ['simd_4x8', {}],
  ['fma_4x8', { fma: true, rows: 4, vectors: 2 }],
  ['fma_5x8', { fma: true, rows: 5, vectors: 2 }],
  ['fma_6x8', { fma: true, rows: 6, vectors: 2 }],
  ['fma_3x12', { fma: true, rows: 3, vectors: 3 }],
  ['fma_2x16', { fma: true, rows: 2, vectors: 4 }],
];
// name, batch, n, k, m, transposeA (A read through strides); an Aᵀ·B over 1152 rows runs in 3 blocks of 384
const PRODUCTS = [
  ['NN_1152x64x64', 1, 1152, 64, 64, false],
  ['TN_64x384x64_block', 1, 64, 384, 64, true],
  ['NN_2560x64x64', 1, 2560, 64, 64, false],
  ['NN_attn_512x9x16x9', 512, 9, 16, 9, false],
  ['NN_attn_512x9x9x16', 512, 9, 9, 16, false],
  ['NN_large_2048x64x2048', 1, 2048, 64, 2048, false], // ops bench's large slices, one slice
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const kernels = [];
for (const [name, options] of BUILDS) {
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(await assemble(options)));
  exports.memory.grow(800);
  kernels.push([name, exports]);
}
const order = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : null;
const products = argv.includes('--products') ? argv[argv.indexOf('--products') + 1].split(',') : null;
for (const [product, batch, n, k, m, transposeA] of PRODUCTS) {
  if (products && !products.includes(product)) continue;
  const [sliceA, sliceB] = [n * k, k * m];
  const [aAt, bAt] = [0, 4 * batch * sliceA];
  const cAt = bAt + 4 * batch * sliceB;
  const results = new Map();
  // interleaved: every round calls each build `reps` times
  const reps = Math.max(1, Math.round(2e6 / (batch * n * k * m)));
  for (const [, exports] of kernels) {
    const heap = new Float32Array(exports.memory.buffer);
    for (let i = 0; i < batch * (sliceA + sliceB); i++) heap[i] = Math.sin(i) * 0.5;
  }
  for (let round = -5; round < runs; round++) {
    for (const [name, exports] of kernels) {
      if (order && !order.includes(name)) continue;
      const t0 = performance.now();
      for (let r = 0; r < reps; r++)
        exports.matmul(aAt, bAt, cAt, batch, n, k, m, sliceA, transposeA ? 1 : k, transposeA ? n : 1);
      const us = ((performance.now() - t0) * 1000) / reps;
      if (round >= 0) (results.get(name) ?? results.set(name, []).get(name)).push(us);
    }
  }
  for (const [name, times] of results) {
    const us = median(times);
    const gmadds = (batch * n * k * m) / us / 1000;
    console.log(
      JSON.stringify({
        name: `${product}_${name}`,
        median_us: +us.toFixed(2),
        g_madds_per_s: +gmadds.toFixed(1),
      }),
    );
  }
}
