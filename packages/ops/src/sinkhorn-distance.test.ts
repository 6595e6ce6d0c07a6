import {
  describeBackends,
  expectClose,
  expectNoLeak,
  fillPadding,
  finiteDifferenceGradient,
  loadFixture,
  prefixMask,
  randomSet,
  valuesOf,
} from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ConfigError, DataError, ShapeError } from './errors.js';
import { sinkhornDistance } from './sinkhorn-distance.js';

const fixture = loadFixture(import.meta.dirname, 'sinkhorn.json');

/** Pads sets (arrays of points) to a common size with junk values and a mask. */
function padded(sets: number[][][], size: number, junk: number) {
  const d = sets[0][0].length;
  const x = sets.map((s) => [...s, ...Array.from({ length: size - s.length }, () => Array(d).fill(junk))]);
  const mask = sets.map((s) => Array.from({ length: size }, (_, i) => (i < s.length ? 1 : 0)));
  return { x: tf.tensor3d(x), mask: tf.tensor2d(mask) };
}

describeBackends('sinkhornDistance', () => {
  for (const c of fixture.cases) {
    it(`matches the fixture ${c.name} (1000 log-domain iterations)`, () => {
      const x = tf.tensor3d([c.x]);
      const y = tf.tensor3d([c.y]);
      const got = valuesOf(sinkhornDistance(x, y, { epsilon: c.eps, iterations: c.iterations }));
      expectClose(got, c.transport_cost, { rtol: 2e-4 });
      tf.dispose([x, y]);
    });
  }

  it('padding never changes a result: a padded batch equals each set alone', () => {
    const c = fixture.cases.find((k: any) => k.name === 'n10_m12_d2_eps0.1');
    const a = padded([c.x, c.x.slice(0, 6)], 16, 37.5);
    const b = padded([c.y, c.y.slice(3)], 16, -41.25);
    const got = valuesOf(sinkhornDistance(a, b, { epsilon: 0.1, iterations: 300, reduction: 'none' }));
    const x1 = tf.tensor3d([c.x.slice(0, 6)]);
    const y1 = tf.tensor3d([c.y.slice(3)]);
    const alone = valuesOf(sinkhornDistance(x1, y1, { epsilon: 0.1, iterations: 300 }));
    expectClose(got, [c.transport_cost, alone[0]], { rtol: 2e-4 });
    // and the padding gets no gradient (finite everywhere)
    const [ga, gb] = tf.grads(
      (p: tf.Tensor, q: tf.Tensor) =>
        sinkhornDistance(
          { x: p as tf.Tensor3D, mask: a.mask },
          { x: q as tf.Tensor3D, mask: b.mask },
          {
            epsilon: 0.1,
            iterations: 20,
          },
        ) as tf.Scalar,
    )([a.x, b.x]);
    const gA = valuesOf(ga);
    const gB = valuesOf(gb);
    expect(gA.every(Number.isFinite) && gB.every(Number.isFinite)).toBe(true);
    const maskA = a.mask.dataSync();
    const maskB = b.mask.dataSync();
    expect(gA.filter((_, k) => maskA[Math.floor(k / 2)] === 0).every((v) => v === 0)).toBe(true);
    expect(gB.filter((_, k) => maskB[Math.floor(k / 2)] === 0).every((v) => v === 0)).toBe(true);
    expect(gA.some((v) => v !== 0)).toBe(true);
    tf.dispose([a.x, a.mask, b.x, b.mask, x1, y1]);
  });

  it('is stable for small ε (1e-3 of the cost scale) and then close to the exact OT cost', () => {
    const c = fixture.cases[1]; // 10x12
    const x = tf.tensor3d([c.x]);
    const y = tf.tensor3d([c.y]);
    const scale = valuesOf(
      tf.mean(tf.sum(tf.square(tf.sub(tf.expandDims(x, 2), tf.expandDims(y, 1))), 3)),
    )[0];
    const [got] = valuesOf(sinkhornDistance(x, y, { epsilon: 1e-3 * scale, iterations: 2000 }));
    expect(Number.isFinite(got)).toBe(true);
    expect(got).toBeLessThan(c.transport_cost); // closer to the LP than with ε = 0.01
    expectClose(got, c.unregularized_ot_cost, { rtol: 2e-3 });
    tf.dispose([x, y]);
  });

  it('is invariant to permutations of either set', () => {
    const a = randomSet(1, [2, 6, 2]);
    const b = randomSet(2, [2, 5, 2]);
    const ref = valuesOf(sinkhornDistance(a, b, { epsilon: 0.05, reduction: 'none' }));
    const pa = tf.gather(a, [4, 0, 5, 2, 1, 3], 1) as tf.Tensor3D;
    const pb = tf.gather(b, [2, 4, 0, 3, 1], 1) as tf.Tensor3D;
    expectClose(valuesOf(sinkhornDistance(pa, pb, { epsilon: 0.05, reduction: 'none' })), ref, {
      rtol: 1e-5,
    });
    expectClose(valuesOf(sinkhornDistance(a, b, { epsilon: 0.05, reduction: 'sum' })), ref[0] + ref[1], {
      rtol: 1e-6,
    });
    tf.dispose([a, b, pa, pb]);
  });

  it('gradients equal central finite differences (through the unrolled iterations)', () => {
    const a = randomSet(3, [1, 4, 2]);
    const b = randomSet(4, [1, 3, 2]);
    const mask = tf.tensor2d([[1, 1, 1, 0]]);
    const loss = (p: tf.Tensor, q: tf.Tensor) =>
      sinkhornDistance({ x: p as tf.Tensor3D, mask }, q as tf.Tensor3D, {
        epsilon: 0.2,
        iterations: 30,
      }) as tf.Scalar;
    const [ga, gb] = tf.grads(loss)([a, b]);
    expectClose(
      valuesOf(ga),
      finiteDifferenceGradient((p) => loss(p, b), a, 1e-2),
      { rtol: 1e-2, atol: 1e-3 },
    );
    expectClose(
      valuesOf(gb),
      finiteDifferenceGradient((q) => loss(a, q), b, 1e-2),
      { rtol: 1e-2, atol: 1e-3 },
    );
    tf.dispose([a, b, mask]);
  });

  it('leaks nothing and rejects bad input with typed errors', async () => {
    const a = randomSet(5, [2, 4, 3]);
    const b = randomSet(6, [2, 3, 3]);
    const wrong = randomSet(7, [2, 3, 2]);
    const empty = tf.tensor2d([
      [1, 1, 0, 0],
      [0, 0, 0, 0],
    ]);
    await expectNoLeak(() => sinkhornDistance(a, b, { epsilon: 0.1, iterations: 5 }).dispose());
    await expectNoLeak(() =>
      tf.dispose(
        tf.grads(
          (p: tf.Tensor) =>
            sinkhornDistance(p as tf.Tensor3D, b, { epsilon: 0.1, iterations: 3 }) as tf.Scalar,
        )([a]),
      ),
    );
    const before = tf.memory().numTensors;
    expect(() => sinkhornDistance(a, b, {} as any)).toThrow(/epsilon: expected a finite number > 0/);
    expect(() => sinkhornDistance(a, b, { epsilon: 0 })).toThrow(ConfigError);
    expect(() => sinkhornDistance(a, b, { epsilon: -1 })).toThrow(ConfigError);
    expect(() => sinkhornDistance(a, b, { epsilon: 0.1, iterations: 2.5 })).toThrow(/iterations/);
    expect(() => sinkhornDistance(a, b, { epsilon: 0.1, reduction: 'max' as any })).toThrow(ConfigError);
    expect(() => sinkhornDistance(a, wrong, { epsilon: 0.1 })).toThrow(ShapeError);
    expect(() => sinkhornDistance({ x: a, mask: empty }, b, { epsilon: 0.1 })).toThrow(DataError);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, wrong, empty]);
  });
});

describeBackends('sinkhornDistance with NaN or huge values in the padding', () => {
  for (const junk of [Number.NaN, 1e30, Number.POSITIVE_INFINITY]) {
    it(`padding holding ${junk}: value and gradient equal the unpadded sets'`, () => {
      const options = { epsilon: 0.3, iterations: 20, reduction: 'none' as const };
      const a = randomSet(21, [1, 3, 2]);
      const b = randomSet(22, [1, 4, 2]);
      // the same sets, padded by two rows (a) and one row (b) holding junk
      const mask = prefixMask([3], 5);
      const maskB = prefixMask([4], 5);
      const padded = fillPadding(
        tf.pad(a, [
          [0, 0],
          [0, 2],
          [0, 0],
        ]) as tf.Tensor3D,
        mask,
        junk,
      );
      const paddedB = fillPadding(
        tf.pad(b, [
          [0, 0],
          [0, 1],
          [0, 0],
        ]) as tf.Tensor3D,
        maskB,
        junk,
      );
      const plain = (p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(sinkhornDistance(p as tf.Tensor3D, q as tf.Tensor3D, options)) as tf.Scalar;
      const masked = (p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(
          sinkhornDistance({ x: p as tf.Tensor3D, mask }, { x: q as tf.Tensor3D, mask: maskB }, options),
        ) as tf.Scalar;
      const [ga, gb] = tf.grads(plain)([a, b]);
      const [gpa, gpb] = tf.grads(masked)([padded, paddedB]);
      const value = plain(a, b);
      const paddedValue = masked(padded, paddedB);
      expectClose(valuesOf(paddedValue), valuesOf(value), { rtol: 1e-5, atol: 1e-6 });
      const [pa, pb] = [valuesOf(gpa), valuesOf(gpb)];
      expectClose(pa.slice(0, 6), valuesOf(ga), { rtol: 1e-4, atol: 1e-6 });
      expectClose(pb.slice(0, 8), valuesOf(gb), { rtol: 1e-4, atol: 1e-6 });
      // the padded rows get an exact zero gradient, not NaN
      expect(pa.slice(6)).toEqual([0, 0, 0, 0]);
      expect(pb.slice(8)).toEqual([0, 0]);
      tf.dispose([a, b, mask, maskB, padded, paddedB]);
    });
  }
});
