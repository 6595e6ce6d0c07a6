import { ConfigError, DataError, type HostSet, ShapeError } from '@setgen/ops';
import { expectClose } from '@setgen/testkit';
import { describe, expect, it } from 'vitest';
import { setPredictionErrors } from './set-prediction-errors.js';

const set = (rows: number[][]): HostSet => ({
  values: Float64Array.from(rows.flat()),
  n: rows.length,
  d: rows[0].length,
});
// REFERENCES.md §13 toy sets
const X = set([
  [0, 0],
  [1, 0],
  [0, 1],
]);
const Y = set([
  [0, 0.5],
  [1, 1],
  [2, 0],
]);

describe('setPredictionErrors', () => {
  it('matches the §13 reference values (C2, C3, H1, H2)', () => {
    const sq = setPredictionErrors([X], [Y]);
    expectClose(sq.chamfer, 1.25); // C2: PointFlow CD
    expectClose(sq.hungarian, 0.75); // H2: mean matched D²
    const eu = setPredictionErrors([X], [Y], { pairCost: 'euclidean' });
    expectClose(eu.chamfer, 2 * 0.75); // C3 is the halved version
    expectClose(eu.hungarian, 2.5 / 3); // H1
  });

  it('averages over sets, keeps per-set values, handles unequal sizes', () => {
    const out = setPredictionErrors([X, X], [Y, X]);
    expectClose(Array.from(out.perSet.chamfer), [1.25, 0]);
    expectClose(out.chamfer, 0.625);
    const partial = setPredictionErrors(
      [set([[0, 0]])],
      [
        set([
          [0, 0.5],
          [5, 5],
        ]),
      ],
    );
    expectClose(partial.hungarian, 0.25); // one pair matched, the far target is not charged
    expectClose(partial.chamfer, 0.25 + (0.25 + 50) / 2);
  });

  it('rejects mismatched or malformed input', () => {
    expect(() => setPredictionErrors([X], [])).toThrow(ShapeError);
    expect(() => setPredictionErrors([], [])).toThrow(DataError);
    expect(() => setPredictionErrors([X], [set([[0, 0, 0]])])).toThrow(/targets\[0\].*d = 2/);
    expect(() => setPredictionErrors([X], [Y], { pairCost: 'huber' as 'euclidean' })).toThrow(ConfigError);
    expect(() => setPredictionErrors([set([[0, Number.NaN]])], [Y])).toThrow(/predictions\[0\].*NaN/);
  });
});
