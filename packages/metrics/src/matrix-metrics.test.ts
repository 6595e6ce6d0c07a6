import { DataError, ShapeError } from '@setgen/ops';
import { expectClose, loadFixture } from '@setgen/testkit';
import { describe, expect, it } from 'vitest';
import {
  coverage,
  minimumMatchingDistance,
  oneNearestNeighborAccuracy,
  oneNearestNeighborClassification,
} from './matrix-metrics.js';

const fixture = loadFixture(import.meta.dirname, 'metrics.json');

/** Our dGenRef [nGen, nRef] is the transpose of the fixture's M_rs [nRef, nGen]. */
function genRefFromMrs(mrs: number[][]): Float64Array {
  const nRef = mrs.length;
  const nGen = mrs[0].length;
  const out = new Float64Array(nGen * nRef);
  for (let r = 0; r < nRef; r++) for (let g = 0; g < nGen; g++) out[g * nRef + r] = mrs[r][g];
  return out;
}

describe('MMD / COV / 1-NNA on distance matrices', () => {
  for (const tag of ['CD', 'EMD'] as const) {
    it(`reproduces PointFlow's ${tag} metrics from the fixture matrices`, () => {
      const m = fixture.distance_matrices[tag];
      const expected = fixture.metrics[tag];
      const n = fixture.n_clouds;
      const genRef = genRefFromMrs(m.M_rs);
      const genGen = Float64Array.from(m.M_ss.flat());
      const refRef = Float64Array.from(m.M_rr.flat());
      expectClose(minimumMatchingDistance(genRef, n, n), expected.MMD, { rtol: 1e-6 });
      expectClose(coverage(genRef, n, n), expected.COV, { rtol: 1e-6 });
      expectClose(oneNearestNeighborAccuracy(genGen, refRef, genRef, n, n), expected['1-NNA'], {
        rtol: 1e-6,
      });
      const detail = oneNearestNeighborClassification(genGen, refRef, genRef, n, n);
      expectClose(detail.referenceAccuracy, expected['1-NNA_acc_t'], { rtol: 1e-6 });
      expectClose(detail.generatedAccuracy, expected['1-NNA_acc_f'], { rtol: 1e-6 });
    });
  }

  it('matches the hand-computed toy case of REFERENCES.md §13 (non-square)', () => {
    // rows = 2 generated, cols = 3 references
    const genRef = Float64Array.from([0.1, 0.9, 0.8, 0.2, 0.7, 0.9]);
    const refRef = Float64Array.from([0, 0.5, 0.6, 0.5, 0, 0.3, 0.6, 0.3, 0]);
    const genGen = Float64Array.from([0, 0.15, 0.15, 0]);
    expectClose(minimumMatchingDistance(genRef, 2, 3), 1.6 / 3);
    expectClose(coverage(genRef, 2, 3), 1 / 3);
    expectClose(oneNearestNeighborAccuracy(genGen, refRef, genRef, 2, 3), 0.6);
  });

  it('a perfect copy of the references: MMD 0, COV 100 %, 1-NNA 0 % (each cloud finds its twin)', () => {
    // four distinct clouds on a line at 0, 1, 3, 7; generated = reference
    const pos = [0, 1, 3, 7];
    const d = Float64Array.from(pos.flatMap((a) => pos.map((b) => Math.abs(a - b))));
    expect(minimumMatchingDistance(d, 4, 4)).toBe(0);
    expect(coverage(d, 4, 4)).toBe(1);
    expect(oneNearestNeighborAccuracy(d, d, d, 4, 4)).toBe(0);
  });

  it('all distances tied: the first cloud in [references, generated] wins, 1-NNA = 50 %', () => {
    const zeros = new Float64Array(9);
    expect(oneNearestNeighborAccuracy(zeros, zeros, zeros, 3, 3)).toBe(0.5);
    const detail = oneNearestNeighborClassification(zeros, zeros, zeros, 3, 3);
    expect(detail).toEqual({ accuracy: 0.5, referenceAccuracy: 1, generatedAccuracy: 0 });
    expect(coverage(zeros, 3, 3)).toBeCloseTo(1 / 3, 12); // every sample picks reference 0
    expect(minimumMatchingDistance(zeros, 3, 3)).toBe(0);
  });

  it('two far-apart collections are perfectly separable: 1-NNA 100 %', () => {
    // generated at 0, 0.1, 0.2; references at 100, 100.1
    const gen = [0, 0.1, 0.2];
    const ref = [100, 100.1];
    const dist = (a: number[], b: number[]) =>
      Float64Array.from(a.flatMap((x) => b.map((y) => Math.abs(x - y))));
    expect(oneNearestNeighborAccuracy(dist(gen, gen), dist(ref, ref), dist(gen, ref), 3, 2)).toBe(1);
    expectClose(minimumMatchingDistance(dist(gen, ref), 3, 2), (99.8 + 99.9) / 2);
    expect(coverage(dist(gen, ref), 3, 2)).toBe(0.5); // every sample's nearest reference is 100
  });

  it('ignores the diagonal of the within-collection matrices (self-distances)', () => {
    const genRef = Float64Array.from([0.1, 0.9, 0.8, 0.2, 0.7, 0.9]);
    const refRef = Float64Array.from([-5, 0.5, 0.6, 0.5, Number.NaN, 0.3, 0.6, 0.3, -1]);
    const genGen = Float64Array.from([-9, 0.15, 0.15, Number.NaN]);
    expectClose(oneNearestNeighborAccuracy(genGen, refRef, genRef, 2, 3), 0.6);
  });

  it('rejects wrong sizes and NaN distances with typed errors naming the argument', () => {
    const m = new Float64Array(6);
    expect(() => minimumMatchingDistance(m, 2, 2)).toThrow(ShapeError);
    expect(() => minimumMatchingDistance(m, 2, 2)).toThrow(/dGenRef.*\[2,2\].*length 6/);
    expect(() => coverage(m, 0, 6)).toThrow(/nGen/);
    expect(() => oneNearestNeighborAccuracy(new Float64Array(4), new Float64Array(8), m, 2, 3)).toThrow(
      /dRefRef.*\[3,3\]/,
    );
    const bad = Float64Array.from([0.1, Number.NaN, 0.8, 0.2, 0.7, 0.9]);
    expect(() => coverage(bad, 2, 3)).toThrow(DataError);
    expect(() => coverage(bad, 2, 3)).toThrow(/dGenRef.*NaN at \[0,1\]/);
  });
});
