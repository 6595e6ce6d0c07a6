// The Top-n reference's `constrained_loss` against a float64 transcription of it
// (__fixtures__/make_constrained_loss.py, numpy/scipy): every term, and the per-set pieces.
import { ConfigError, DataError, type HostSet, ShapeError } from '@setgen/ops';
import { expectClose, loadFixture } from '@setgen/testkit';
import { describe, expect, it } from 'vitest';
import {
  boundingBoxViolation,
  cardinalityDistance,
  constrainedLoss,
  minimumDistanceViolation,
  uniformTransportCost,
  valencies,
  valencyDistributionDistance,
} from './molecule-metrics.js';

interface ConstrainedLossFixture {
  config: {
    min_bound: number[];
    max_bound: number[];
    min_dist: number;
    neighbor_threshold: number;
    val_statistics: number[];
    n_dist: number[];
  };
  sets: number[][][];
  per_set: { valencies: number[]; bounding_box_sum: number; min_distance_sum: number }[];
  pairs: [number, number][];
  pair_costs: number[];
  constrained_loss: [number, number, number, number, number];
}

const fixture = loadFixture<ConstrainedLossFixture>(import.meta.dirname, 'constrained-loss.json');
const sets: HostSet[] = fixture.sets.map((rows) => ({
  values: Float64Array.from(rows.flat()),
  n: rows.length,
  d: 3,
}));
const cfg = fixture.config;
const datasetValencies = [0, ...cfg.val_statistics]; // the reference shifts valencies 1..4 to indices 1..4
const [box, minDist, valencyW1, cardinalityW1, diversity] = fixture.constrained_loss;
const tight = { rtol: 1e-8, atol: 1e-10 };

describe('constrained_loss (Top-n generation metrics) against the float64 reference transcription', () => {
  it('bounding-box and minimum-distance violations per atom (pairs counted twice)', () => {
    expectClose(boundingBoxViolation(sets, { low: cfg.min_bound, high: cfg.max_bound }), box, tight);
    expectClose(boundingBoxViolation(sets), box, tight); // ±6 is the default box
    expectClose(minimumDistanceViolation(sets, { minDistance: cfg.min_dist }), minDist, tight);
    expect(box).toBeGreaterThan(0);
    expect(minDist).toBeGreaterThan(0);
    // per set: the sums of the reference divided by the set's own size
    sets.forEach((s, k) => {
      expectClose(boundingBoxViolation([s]) * s.n, fixture.per_set[k].bounding_box_sum, tight);
      expectClose(minimumDistanceViolation([s]) * s.n, fixture.per_set[k].min_distance_sum, tight);
      expect(Array.from(valencies(s, { neighbourDistance: cfg.neighbor_threshold }))).toEqual(
        fixture.per_set[k].valencies,
      );
    });
  });

  it('valency W1 and cardinality W1 (scipy wasserstein_distance on integer supports)', () => {
    expectClose(valencyDistributionDistance(sets, datasetValencies), valencyW1, tight);
    expectClose(cardinalityDistance(sets, cfg.n_dist), cardinalityW1, tight);
    // counts or shares: the same distribution
    expectClose(
      cardinalityDistance(
        sets,
        cfg.n_dist.map((p) => p * 40),
      ),
      cardinalityW1,
      tight,
    );
  });

  it('diversity: exact OT between uniform measures on the stored pairs (POT emd2)', () => {
    const costs = fixture.pairs.map(([i, j]) => uniformTransportCost(sets[i], sets[j]));
    expectClose(costs, fixture.pair_costs, { rtol: 1e-7, atol: 1e-9 });
    expectClose(costs.reduce((a, b) => a + b, 0) / costs.length, diversity, { rtol: 1e-7, atol: 1e-9 });
  });

  it('constrainedLoss gathers the five terms', () => {
    const all = constrainedLoss(sets, {
      datasetValencyHistogram: datasetValencies,
      datasetSizeHistogram: cfg.n_dist,
      pairs: 100,
      seed: 1,
    });
    expectClose(
      [all.boundingBox, all.minDistance, all.valencyW1, all.cardinalityW1],
      [box, minDist, valencyW1, cardinalityW1],
      tight,
    );
    // random pairs (with replacement, a set may meet itself): within the range of the pair costs
    expect(all.diversity).toBeGreaterThan(0);
    expect(all.diversity).toBeLessThan(Math.max(...fixture.pair_costs));
  });

  it('names the bad argument', () => {
    expect(() => boundingBoxViolation(sets, { low: [0, 0] })).toThrow(ConfigError);
    expect(() => boundingBoxViolation(sets, { low: 1, high: 0 })).toThrow(/options.low\[0\]/);
    expect(() => minimumDistanceViolation(sets, { minDistance: 0 })).toThrow(ConfigError);
    expect(() => cardinalityDistance(sets, [])).toThrow(ShapeError);
    expect(() => cardinalityDistance([], cfg.n_dist)).toThrow(DataError);
    const nan: HostSet = { values: Float64Array.from([0, 0, Number.NaN]), n: 1, d: 3 };
    expect(() => boundingBoxViolation([nan])).toThrow(DataError);
    expect(() => constrainedLoss(sets, null as never)).toThrow(ConfigError);
  });
});
