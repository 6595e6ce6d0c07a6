// The synthetic category collections of category-clouds.mjs as [K, N, 3] float64 .npy files,
// so that the PointFlow protocol can be run on them with the `setgen-eval` CLI as a user runs it:
//   node bench/category-npy.mjs --k 400 --n 2048 --family airplane --seed 1 [--dir .]
//   setgen-eval DIR/airplane-k400-n2048-s1-generated.npy DIR/airplane-k400-n2048-s1-reference.npy --json
// (the same clouds as emd-pruning.bench.mjs and emd-pruning-run.mjs for the same arguments).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchArg, benchCollections } from './category-clouds.mjs';

/** `[K, N, D]` little-endian float64 .npy bytes of `clouds` (`{ values, n, d }` each). */
function npy(clouds) {
  const [K, N, D] = [clouds.length, clouds[0].n, clouds[0].d];
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${K}, ${N}, ${D}), }`;
  // magic (6) + version (2) + header length (2) + header + '\n' is a multiple of 64 bytes
  header += `${' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64)}\n`;
  const preamble = Buffer.alloc(10);
  preamble.write('\x93NUMPY', 0, 'latin1');
  preamble[6] = 1;
  preamble.writeUInt16LE(header.length, 8);
  const data = new Float64Array(K * N * D);
  for (const [i, c] of clouds.entries()) data.set(c.values, i * N * D);
  return Buffer.concat([preamble, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]);
}

const { k, n, family, seed, reference, generated } = benchCollections();
const dir = benchArg('dir', '.');
const stem = join(dir, `${family}-k${k}-n${n}-s${seed}`);
writeFileSync(`${stem}-generated.npy`, npy(generated));
writeFileSync(`${stem}-reference.npy`, npy(reference));
console.log(`${stem}-generated.npy ${stem}-reference.npy`);
