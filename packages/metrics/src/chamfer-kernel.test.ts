import { testRandom } from '@setgen/testkit';
import { describe, expect, it } from 'vitest';
import { chamferKernel } from './chamfer-kernel.js';

function randomCloud(rand: () => number, n: number, d: number, scale = 1, shift = 0): Float64Array {
  return Float64Array.from({ length: n * d }, () => (rand() - 0.5) * scale + shift);
}

/** Brute-force PointFlow CD: mean of squared nearest distances, both directions. */
function bruteChamfer(a: Float64Array, b: Float64Array, d: number): number {
  const oneWay = (p: Float64Array, q: Float64Array) => {
    let total = 0;
    for (let i = 0; i < p.length / d; i++) {
      let best = Number.POSITIVE_INFINITY;
      for (let j = 0; j < q.length / d; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += (p[i * d + c] - q[j * d + c]) ** 2;
        best = Math.min(best, s);
      }
      total += best;
    }
    return total / (p.length / d);
  };
  return oneWay(a, b) + oneWay(b, a);
}

describe('chamferKernel (k-d tree)', () => {
  const kernel = chamferKernel();

  it('matches brute force exactly for 1-D to 5-D clouds of many sizes', () => {
    const rand = testRandom(11);
    for (const d of [1, 2, 3, 5]) {
      for (const [n, m] of [
        [1, 1],
        [1, 7],
        [9, 8],
        [33, 70],
        [300, 257],
      ]) {
        const a = randomCloud(rand, n, d);
        const b = randomCloud(rand, m, d, 2, 0.3);
        const cd = kernel.chamferMean(kernel.buildIndex(a, n, d), kernel.buildIndex(b, m, d));
        expect(cd).toBeCloseTo(bruteChamfer(a, b, d), 12);
      }
    }
  });

  it('handles duplicated points and far-apart clouds', () => {
    const a = new Float64Array(3 * 40).fill(0.25);
    const rand = testRandom(3);
    const b = randomCloud(rand, 50, 3, 1, 100);
    const cd = kernel.chamferMean(kernel.buildIndex(a, 40, 3), kernel.buildIndex(b, 50, 3));
    expect(cd).toBeCloseTo(bruteChamfer(a, b, 3), 9);
    expect(kernel.chamferMean(kernel.buildIndex(a, 40, 3), kernel.buildIndex(a, 40, 3))).toBe(0);
  });

  it('does not change the input values and keeps every point in the index', () => {
    const rand = testRandom(5);
    const a = randomCloud(rand, 100, 3);
    const copy = a.slice();
    const index = kernel.buildIndex(a, 100, 3);
    expect(a).toEqual(copy);
    expect(Array.from(index.points).sort()).toEqual(Array.from(a).sort());
  });
});
