import { ConfigError, type HostSet, ShapeError } from '@setgen/ops';
import { describeBackends, expectClose, loadFixture, testRandom } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  gridCounts,
  jensenShannonDivergence,
  jsdBetweenPointCloudSets,
  nearestCell,
  occupancyGrid,
} from './jsd.js';

const fixture = loadFixture(import.meta.dirname, 'metrics.json');
const toSets = (pcs: number[][][]): HostSet[] =>
  pcs.map((pc) => ({ values: Float64Array.from(pc.flat()), n: pc.length, d: 3 }));
const sparse = (counts: Float64Array) =>
  Array.from(counts)
    .map((c, i) => [i, c])
    .filter(([, c]) => c > 0);

describe('jsdBetweenPointCloudSets (PointFlow / latent_3d_points)', () => {
  it('builds the 28³ grid clipped to the radius-0.5 ball: 10144 of 21952 cells', () => {
    const grid = occupancyGrid(28);
    expect(grid.centres.length / 3).toBe(fixture.JSD.n_grid_cells_in_ball);
    expect(grid.cellOf.length).toBe(21952);
    expect(grid.axis[0]).toBe(-0.5);
    expect(grid.axis[27]).toBe(0.5);
    expectClose(grid.axis[1] - grid.axis[0], 1 / 27, { rtol: 1e-6 });
  });

  it('reproduces the fixture counts per cell and the JSD value', () => {
    const grid = occupancyGrid(28);
    expect(sparse(gridCounts(toSets(fixture.sample_pcs), grid))).toEqual(fixture.JSD.sample_counts_sparse);
    expect(sparse(gridCounts(toSets(fixture.ref_pcs), grid))).toEqual(fixture.JSD.ref_counts_sparse);
    const jsd = jsdBetweenPointCloudSets(toSets(fixture.sample_pcs), toSets(fixture.ref_pcs));
    expectClose(jsd, fixture.JSD.value, { rtol: 1e-6 });
  });

  it('nearest cell agrees with brute force, also for points outside the ball and the cube', () => {
    const rand = testRandom(2);
    const grids = [occupancyGrid(10), occupancyGrid(28)];
    for (let t = 0; t < 3000; t++) {
      const grid = grids[t % 2];
      const scale = [1.2, 1.6, 6][t % 3];
      const p = [0, 1, 2].map(() => (rand() - 0.5) * scale);
      let best = -1;
      let bestD = Number.POSITIVE_INFINITY;
      for (let c = 0; c < grid.centres.length / 3; c++) {
        const s =
          (p[0] - grid.centres[3 * c]) ** 2 +
          (p[1] - grid.centres[3 * c + 1]) ** 2 +
          (p[2] - grid.centres[3 * c + 2]) ** 2;
        if (s < bestD) {
          bestD = s;
          best = c;
        }
      }
      expect(nearestCell(grid, p[0], p[1], p[2])).toBe(best);
    }
  });

  it('is 0 for the same distribution, 1 for disjoint supports, symmetric, base 2', () => {
    const sets = toSets(fixture.ref_pcs);
    expect(jsdBetweenPointCloudSets(sets, sets)).toBe(0);
    expect(jensenShannonDivergence([1, 0], [0, 1])).toBeCloseTo(1, 12);
    expect(jensenShannonDivergence([3, 1], [1, 1])).toBeCloseTo(jensenShannonDivergence([1, 1], [3, 1]), 12);
    // P = (1/2, 1/2), Q = (1, 0): H(M) − H(P)/2 with M = (3/4, 1/4)
    const hm = -(0.75 * Math.log2(0.75) + 0.25 * Math.log2(0.25));
    expect(jensenShannonDivergence([1, 1], [2, 0])).toBeCloseTo(hm - 0.5, 12);
  });

  it('rejects non-3-D clouds, bad resolutions and mismatched count vectors', () => {
    const twoD: HostSet = { values: new Float64Array(4), n: 2, d: 2 };
    expect(() => jsdBetweenPointCloudSets([twoD], toSets(fixture.ref_pcs))).toThrow(ShapeError);
    expect(() => jsdBetweenPointCloudSets([twoD], toSets(fixture.ref_pcs))).toThrow(
      /generated.*D = 3.*D = 2/,
    );
    expect(() =>
      jsdBetweenPointCloudSets(toSets(fixture.ref_pcs), toSets(fixture.ref_pcs), { resolution: 1 }),
    ).toThrow(ConfigError);
    expect(() => jensenShannonDivergence([1, 2], [1])).toThrow(/countsQ.*length 2/);
  });
});

describeBackends('jsdBetweenPointCloudSets with tensors', () => {
  it('reads [K, N, D] tensors synchronously, with the same value', () => {
    const gen = tf.tensor3d(fixture.sample_pcs);
    const ref = tf.tensor3d(fixture.ref_pcs);
    expectClose(jsdBetweenPointCloudSets(gen, ref), fixture.JSD.value, { rtol: 1e-4 });
    gen.dispose();
    ref.dispose();
  });
});
