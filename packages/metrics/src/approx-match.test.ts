import type { HostSet } from '@setgen/ops';
import { expectClose, loadFixture } from '@setgen/testkit';
import { describe, expect, it } from 'vitest';
import { approxMatchDistance } from './approx-match.js';

const fixture = loadFixture(import.meta.dirname, 'emd.json');
const toSet = (rows: number[][]): HostSet => ({
  values: Float64Array.from(rows.flat()),
  n: rows.length,
  d: rows[0].length,
});

describe("approxMatchDistance (PointFlow's approxmatch)", () => {
  for (const c of fixture.cases.filter(
    (k: { pointflow_approx_emd_mean?: number }) => k.pointflow_approx_emd_mean !== undefined,
  )) {
    it(`matches the float64 port on ${c.name}, and bounds the exact EMD from above`, () => {
      const value = approxMatchDistance(toSet(c.x), toSet(c.y));
      expectClose(value, c.pointflow_approx_emd_mean, { rtol: 1e-6 });
      expect(value).toBeGreaterThan(c.emd_mean);
    });
  }

  it('is 0 for identical clouds and scales with the offset of a translated cloud', () => {
    const a = toSet([
      [0, 0, 0],
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(approxMatchDistance(a, a)).toBeCloseTo(0, 9);
    const shifted = toSet([
      [0, 0, 5],
      [1, 0, 5],
      [0, 1, 5],
    ]);
    expect(approxMatchDistance(a, shifted)).toBeGreaterThanOrEqual(5 - 1e-9);
  });
});
