import { ConfigError, DataError, type HostSet } from '@setgen/ops';
import { expectClose } from '@setgen/testkit';
import { describe, expect, it } from 'vitest';
import {
  diversityScore,
  incorrectValencyFraction,
  integerWasserstein,
  uniformTransportCost,
  valencies,
  valencyDistributionDistance,
  valencyHistogram,
} from './molecule-metrics.js';

const set = (rows: number[][]): HostSet => ({
  values: Float64Array.from(rows.flat()),
  n: rows.length,
  d: rows[0].length,
});

// a chain 0 — 1.5 — 3 — 4.5 on the x axis plus an isolated atom at 10, and a star
const chain = set([
  [0, 0, 0],
  [1.5, 0, 0],
  [3, 0, 0],
  [4.5, 0, 0],
  [10, 0, 0],
]);
const star = set([
  [0, 0, 0],
  [1.9, 0, 0],
  [-1.9, 0, 0],
  [0, 1.9, 0],
  [0, -1.9, 0],
  [0, 0, 1.9],
]);

describe('molecule-like set metrics (Top-n §5.3)', () => {
  it('valency counts neighbours strictly closer than the neighbour distance', () => {
    expect(Array.from(valencies(chain))).toEqual([1, 2, 2, 1, 0]);
    expect(Array.from(valencies(star))).toEqual([5, 1, 1, 1, 1, 1]);
    expect(
      Array.from(
        valencies(
          set([
            [0, 0],
            [2, 0],
          ]),
        ),
      ),
    ).toEqual([0, 0]); // exactly 2 is not a bond
    expect(Array.from(valencies(chain, { neighbourDistance: 3.5 }))).toEqual([2, 3, 3, 2, 0]);
  });

  it('incorrect valency: valency 0 or above 4, over all atoms', () => {
    expect(incorrectValencyFraction([chain, star])).toBeCloseTo(2 / 11, 12); // the isolated atom and the centre
    expect(incorrectValencyFraction([star], { maxValency: 5 })).toBe(0);
  });

  it('1-D Wasserstein on integers: W1 matches scipy, W2 matches the quantile formula', () => {
    expect(integerWasserstein([1], [0, 0, 1])).toBe(2);
    expect(integerWasserstein([1], [0, 0, 1], 2)).toBeCloseTo(2, 12);
    expect(integerWasserstein([0.5, 0.5], [0, 1])).toBeCloseTo(0.5, 12);
    expect(integerWasserstein([0.5, 0.5], [0, 1], 2)).toBeCloseTo(Math.sqrt(0.5), 12);
    const p = [0.1, 0.2, 0, 0.5, 0.2];
    const q = [0, 0.3, 0.3, 0.1, 0.2, 0.1];
    expectClose(integerWasserstein(p, q), 0.6, { rtol: 1e-12 }); // scipy.stats.wasserstein_distance
    expectClose(integerWasserstein(p, q, 2), 0.7745966692414834, { rtol: 1e-6 });
    expect(() => integerWasserstein([1, -1], [1])).toThrow(DataError);
  });

  it('valency distribution distance against the dataset histogram', () => {
    expectClose(Array.from(valencyHistogram([chain, star])), [1 / 11, 7 / 11, 2 / 11, 0, 0, 1 / 11]);
    // dataset: every atom has valency 1 → W1 = Σ_v |v − 1|·share
    expectClose(valencyDistributionDistance([chain, star], [0, 1]), (1 + 2 + 4) / 11, { rtol: 1e-12 });
    expect(valencyDistributionDistance([chain], [0, 0.4, 0.4, 0, 0, 0.2], { order: 2 })).toBeGreaterThan(0);
    expect(() => valencyDistributionDistance([chain], [0, 1], { order: 3 as 1 })).toThrow(ConfigError);
  });

  it('OT between uniform measures: equal sizes = exact EMD, unequal sizes by replication', () => {
    const a = set([
      [0, 0],
      [1, 0],
    ]);
    const b = set([
      [0, 1],
      [1, 1],
    ]);
    expect(uniformTransportCost(a, b)).toBeCloseTo(1, 12);
    // 1 point against 2: all mass moves to both, cost = mean distance
    const one = set([[0, 0]]);
    const two = set([
      [3, 0],
      [0, 4],
    ]);
    expect(uniformTransportCost(one, two)).toBeCloseTo(3.5, 12);
    // 2 against 3 on a line: 0,3 vs 0,1.5,3 → masses 1/2 vs 1/3: cost = (1/6)·1.5 + (1/6)·1.5 = 0.5
    expect(uniformTransportCost(set([[0], [3]]), set([[0], [1.5], [3]]))).toBeCloseTo(0.5, 12);
  });

  it('diversity: 0 for copies of one set, the pair cost for two sets, reproducible by seed', () => {
    expect(diversityScore([chain, chain], { pairs: 20 })).toBe(0);
    const a = set([
      [0, 0],
      [1, 0],
    ]);
    const b = set([
      [0, 1],
      [1, 1],
    ]);
    const score = diversityScore([a, b], { pairs: 200, seed: 3 });
    expect(score).toBeGreaterThan(0.3); // about half the pairs are (a, b) or (b, a) with cost 1
    expect(score).toBeLessThan(0.7);
    expect(diversityScore([a, b], { pairs: 200, seed: 3 })).toBe(score);
    expect(() => diversityScore([], {})).toThrow(DataError);
    expect(() => diversityScore([a], { pairs: 0 })).toThrow(ConfigError);
  });
});

describe('molecule metrics options', () => {
  it('typos and wrong types are ConfigErrors naming the key', () => {
    const set = { values: new Float32Array([0, 0, 0, 1, 0, 0]), n: 2, d: 3 };
    expect(() => valencies(set, { neighborDistance: 2 } as never)).toThrow(
      /options\.neighborDistance: unknown option \(did you mean 'neighbourDistance'\?\)/,
    );
    expect(() => incorrectValencyFraction([set], { maxValency: 2.5 })).toThrow(ConfigError);
    expect(() => diversityScore([set, set], { pair: 3 } as never)).toThrow(/did you mean 'pairs'/);
    expect(incorrectValencyFraction([set], { maxValency: 2, neighbourDistance: 2 })).toBe(0);
  });
});
