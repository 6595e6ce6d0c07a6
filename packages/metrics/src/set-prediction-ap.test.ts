import { ConfigError, type HostSet, ShapeError } from '@setgen/ops';
import { describe, expect, it } from 'vitest';
import { boxIoU, everyPointAveragePrecision, setPredictionAP } from './set-prediction-ap.js';

const set = (rows: number[][]): HostSet => ({
  values: Float64Array.from(rows.flat()),
  n: rows.length,
  d: rows[0]?.length ?? 4,
});

/** A CLEVR state: xyz (stored /3), material, colour, shape, size one-hots. */
function state(xyz: number[], material: number, colour: number, shape: number, size: number): number[] {
  const oneHot = (k: number, n: number) => Array.from({ length: n }, (_, i) => (i === k ? 1 : 0));
  return [...xyz, ...oneHot(material, 2), ...oneHot(colour, 8), ...oneHot(shape, 3), ...oneHot(size, 2)];
}

describe('setPredictionAP (DSPN / Pascal VOC every-point)', () => {
  it('IoU uses continuous areas (no +1) and is 0 for disjoint boxes', () => {
    expect(boxIoU([0, 0, 0.2, 0.2], [0.1, 0, 0.3, 0.2])).toBeCloseTo(0.02 / 0.06, 12);
    expect(boxIoU([0, 0, 0.1, 0.1], [0.2, 0.2, 0.3, 0.3])).toBe(0);
    expect(boxIoU([0, 0, 1, 1], [0, 0, 1, 1])).toBe(1);
  });

  it('hand-checked ranking: TP, FP, TP over 2 targets → AP = 0.5·1 + 0.5·(2/3)', () => {
    const gt = [set([[0, 0, 0.2, 0.2]]), set([[0.5, 0.5, 0.9, 0.9]])];
    const predictions = [
      {
        elements: set([
          [0, 0, 0.2, 0.2],
          [0.6, 0, 0.7, 0.1],
        ]),
        confidence: [0.9, 0.8],
      },
      { elements: set([[0.5, 0.5, 0.9, 0.9]]), confidence: [0.7] },
    ];
    expect(setPredictionAP(predictions, gt, { threshold: 0.5 })).toBeCloseTo(0.5 + 0.5 * (2 / 3), 12);
    expect(everyPointAveragePrecision([1, 0, 1], 2)).toBeCloseTo(0.5 + 0.5 * (2 / 3), 12);
  });

  it('perfect predictions give 1; a duplicate of a taken target is a false positive; padding rows are skipped', () => {
    const gt = [
      set([
        [0, 0, 0.2, 0.2],
        [0, 0, 0, 0],
      ]),
    ];
    expect(
      setPredictionAP(
        [
          {
            elements: set([
              [0, 0, 0.2, 0.2],
              [0.3, 0.3, 0.4, 0.4],
            ]),
            confidence: [1, 0],
          },
        ],
        gt,
        { threshold: 0.9 },
      ),
    ).toBe(1);
    // the duplicate ranks first but only one can be a TP: [TP, FP] → AP 1; [FP, TP] would be 0.5
    const dup = {
      elements: set([
        [0, 0, 0.2, 0.2],
        [0, 0, 0.2, 0.2],
      ]),
      confidence: [0.9, 0.8],
    };
    expect(setPredictionAP([dup], gt, { threshold: 0.5 })).toBe(1);
    const wrongFirst = {
      elements: set([
        [0.5, 0.5, 0.6, 0.6],
        [0, 0, 0.2, 0.2],
      ]),
      confidence: [0.9, 0.8],
    };
    expect(setPredictionAP([wrongFirst], gt, { threshold: 0.5 })).toBe(0.5);
  });

  it('the IoU threshold is inclusive', () => {
    const gt = [set([[0, 0, 0.2, 0.2]])];
    const half = { elements: set([[0, 0, 0.1, 0.2]]), confidence: [1] }; // IoU exactly 0.5
    expect(setPredictionAP([half], gt, { threshold: 0.5 })).toBe(1);
    expect(setPredictionAP([half], gt, { threshold: 0.6 })).toBe(0);
  });

  it('states: attributes must all match, distance ‖3·Δxyz‖ ≤ threshold', () => {
    const gt = [set([state([0, 0, 0], 0, 3, 1, 0), state([1, 1, 1], 1, 2, 2, 1)])];
    const near = state([0.05, 0, 0], 0, 3, 1, 0); // distance 0.15
    const wrongColour = state([1, 1, 1], 1, 5, 2, 1);
    const predictions = [{ elements: set([near, wrongColour]), confidence: [0.9, 0.8] }];
    const opts = { kind: 'state' as const };
    expect(setPredictionAP(predictions, gt, { ...opts, threshold: Number.POSITIVE_INFINITY })).toBe(0.5);
    expect(setPredictionAP(predictions, gt, { ...opts, threshold: 0.25 })).toBe(0.5);
    expect(setPredictionAP(predictions, gt, { ...opts, threshold: 0.125 })).toBe(0);
    const both = [{ elements: set([near, state([1.01, 1, 1], 1, 2, 2, 1)]), confidence: [0.9, 0.8] }];
    expect(setPredictionAP(both, gt, { ...opts, threshold: 0.5 })).toBe(1);
  });

  it('rejects malformed input with typed errors', () => {
    const gt = [set([[0, 0, 0.2, 0.2]])];
    expect(() => setPredictionAP([], gt, { threshold: 0.5 })).toThrow(ShapeError);
    expect(() =>
      setPredictionAP([{ elements: set([[0, 0, 1]]), confidence: [1] }], gt, { threshold: 0.5 }),
    ).toThrow(/predictions\[0\].elements.*d = 4/);
    expect(() => setPredictionAP([{ elements: gt[0], confidence: [] }], gt, { threshold: 0.5 })).toThrow(
      /confidence.*1 values/,
    );
    expect(() =>
      setPredictionAP([{ elements: gt[0], confidence: [1] }], gt, { threshold: Number.NaN }),
    ).toThrow(ConfigError);
    expect(() =>
      setPredictionAP([{ elements: gt[0], confidence: [1] }], gt, { threshold: 0.5, kind: 'mask' as 'box' }),
    ).toThrow(/options.kind/);
  });
});
