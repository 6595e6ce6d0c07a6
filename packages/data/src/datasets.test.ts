import { createHash } from 'node:crypto';
import { ConfigError, DataError, type HostSet } from '@setgen/ops';
import { describe, expect, it } from 'vitest';
import { batches } from './batches.js';
import { mnistImagesFromIdx } from './mnist-images.js';
import { polygons } from './polygons.js';
import { mnistSplitIndices, setMnist } from './set-mnist.js';
import { setMultiMnist } from './set-multi-mnist.js';
import { syntheticMolecules } from './synthetic-molecules.js';
import { toSetBatch } from './to-set-batch.js';

/** sha256 over every set's shape and float bytes: equal hashes = byte-identical datasets. */
function hashSets(sets: readonly HostSet[]): string {
  const hash = createHash('sha256');
  for (const s of sets) {
    hash.update(`${s.n}x${s.d};`);
    hash.update(new Uint8Array(s.values.buffer, s.values.byteOffset, s.values.byteLength));
  }
  return hash.digest('hex').slice(0, 16);
}

function stats(values: number[]) {
  return {
    min: Math.min(...values),
    max: Math.max(...values),
    mean: values.reduce((a, b) => a + b, 0) / values.length,
  };
}

function coordinateRange(sets: readonly HostSet[]) {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const s of sets) for (const v of s.values) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return [lo, hi];
}

/** A tiny 2-image IDX pair: image 0 has a 2×3 bar at rows 1-2, cols 2-4; image 1 one bright pixel. */
function tinyImages() {
  const rows = 6;
  const cols = 6;
  const images = new Uint8Array(16 + 2 * rows * cols);
  images.set([0, 0, 8, 3]);
  const view = new DataView(images.buffer);
  [2, rows, cols].forEach((s, k) => {
    view.setUint32(4 + 4 * k, s);
  });
  for (let r = 1; r <= 2; r++) for (let c = 2; c <= 4; c++) images[16 + r * cols + c] = 200;
  images[16 + 1] = 30; // row 0, col 1: below threshold 0.1307·255 ≈ 33.3
  images[16 + rows * cols + 5 * cols] = 255; // image 1: row 5, col 0
  const labels = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]);
  return mnistImagesFromIdx(images, labels);
}

describe('setMnist', () => {
  it('converts pixels with the documented rule (xy: (col, 27−row), /size, jitter in [0,1))', () => {
    const images = tinyImages();
    const dspn = setMnist({ split: 'all', images, convention: 'dspn', shufflePoints: false });
    expect(Array.from(dspn.labels)).toEqual([7, 3]);
    // 6 bar pixels; (col, 5 − row) / 5, raster order
    expect(Array.from(dspn.sets[0].values)).toEqual(
      [
        [2, 4],
        [3, 4],
        [4, 4],
        [2, 3],
        [3, 3],
        [4, 3],
      ]
        .flat()
        .map((v) => Math.fround(v / 5)),
    );
    expect(Array.from(dspn.sets[1].values)).toEqual([0, 0]);
    const rowCol = setMnist({
      split: 'all',
      images,
      convention: 'dspn',
      layout: 'row-col',
      shufflePoints: false,
    });
    expect(Array.from(rowCol.sets[1].values)).toEqual([1, 0]);
    const setvae = setMnist({ split: 'all', images, seed: 3 });
    expect(setvae.sets[0].n).toBe(6);
    for (let i = 0; i < 6; i++) {
      const [x, y] = [setvae.sets[0].values[2 * i], setvae.sets[0].values[2 * i + 1]];
      expect(x * 6).toBeGreaterThanOrEqual(2);
      expect(x * 6).toBeLessThan(5);
      expect(y * 6).toBeGreaterThanOrEqual(3);
      expect(y * 6).toBeLessThan(5);
    }
    expect(setMnist({ split: 'all', images, threshold: 0.1 }).sets[0].n).toBe(7);
  });

  it('real digits: sizes, coordinate range, labels, fixed split, determinism', () => {
    const train = setMnist({ split: 'train', limit: 500, seed: 1 });
    const test = setMnist({ split: 'test' });
    expect(train.sets).toHaveLength(500);
    expect(test.sets).toHaveLength(2000);
    const sizes = stats(test.sets.map((s) => s.n));
    expect(sizes.min).toBeGreaterThanOrEqual(30);
    expect(sizes.max).toBeLessThanOrEqual(300);
    expect(sizes.mean).toBeGreaterThan(120);
    expect(sizes.mean).toBeLessThan(150);
    const [lo, hi] = coordinateRange(test.sets);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(new Set(test.labels).size).toBe(10);
    const trainIdx = new Set(mnistSplitIndices(10000, 'train'));
    expect(trainIdx.size).toBe(8000);
    expect(Array.from(test.imageIndices).some((i) => trainIdx.has(i))).toBe(false);
    // same seed → byte-identical, pinned across runs; another seed → other jitter
    expect(hashSets(train.sets)).toBe(hashSets(setMnist({ split: 'train', limit: 500, seed: 1 }).sets));
    expect(hashSets(train.sets)).toBe('30ce0d049ddeaa12'); // pinned: byte-identical on every run;
    expect(hashSets(setMnist({ split: 'train', limit: 500, seed: 2 }).sets)).not.toBe(hashSets(train.sets));
  });

  it("real digits, 'dspn' convention: grid points index/27 in [0, 1]; no jitter with 'setvae' → index/28", () => {
    const dspn = setMnist({ split: 'test', limit: 50, convention: 'dspn' });
    const setvae = setMnist({ split: 'test', limit: 50, jitter: false });
    for (const [data, scale] of [
      [dspn, 27],
      [setvae, 28],
    ] as const) {
      for (const set of data.sets) {
        for (const v of set.values) {
          expect(Math.abs(v * scale - Math.round(v * scale))).toBeLessThan(1e-4);
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(scale === 27 ? 1 : 27 / 28);
        }
      }
    }
    expect(dspn.sets.map((s) => s.n)).toEqual(setvae.sets.map((s) => s.n));
  });

  it('rejects bad options and images before work', () => {
    expect(() => setMnist({ split: 'val' as 'train' })).toThrow(ConfigError);
    expect(() => setMnist({ split: 'val' as 'train' })).toThrow(
      /split: expected 'train' \| 'test' \| 'all', got "val"/,
    );
    expect(() => setMnist({ split: 'train', threshold: 2 })).toThrow(
      /threshold: expected a number in \[0, 1\], got 2/,
    );
    const images = { ...tinyImages(), count: 3 };
    expect(() => setMnist({ split: 'all', images })).toThrow(DataError);
  });
});

describe('setMultiMnist', () => {
  it("'anywhere' placement: random positions anywhere, disjoint ink boxes", () => {
    const data = setMultiMnist({ split: 'test', numSets: 100, seed: 5, placement: 'anywhere' });
    let secondOnLeft = 0;
    for (let k = 0; k < 100; k++) {
      const [a, b] = [0, 1].map((j) => Array.from(data.boxes.subarray(8 * k + 4 * j, 8 * k + 4 * j + 4)));
      expect(a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]).toBe(false);
      if (b[2] < a[0]) secondOnLeft++;
    }
    expect(secondOnLeft).toBeGreaterThan(10);
    expect(() => setMultiMnist({ split: 'test', placement: 'grid' as 'slots' })).toThrow(
      /placement: expected 'slots' \| 'anywhere', got "grid"/,
    );
  });

  it('two digits on a 64×64 canvas, disjoint boxes containing their points', () => {
    const data = setMultiMnist({ split: 'test', numSets: 60, seed: 5, shufflePoints: false });
    expect(data.sets).toHaveLength(60);
    expect(data.boxes).toHaveLength(480);
    const single = setMnist({ split: 'all', shufflePoints: false });
    const sizeOf = new Map(Array.from(single.imageIndices, (img, k) => [img, single.sets[k].n]));
    data.sets.forEach((set, k) => {
      const [a, b] = [0, 1].map((j) => Array.from(data.boxes.subarray(8 * k + 4 * j, 8 * k + 4 * j + 4)));
      const overlap = a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
      expect(overlap).toBe(false);
      expect(data.labels[k]).toBe(10 * data.digitLabels[2 * k] + data.digitLabels[2 * k + 1]);
      // the points are exactly the two digits' points (no overlap ⇒ sizes add up)
      expect(set.n).toBe(sizeOf.get(data.imageIndices[2 * k])! + sizeOf.get(data.imageIndices[2 * k + 1])!);
      for (let i = 0; i < set.n; i++) {
        const [x, y] = [set.values[2 * i], set.values[2 * i + 1]];
        expect(x).toBeGreaterThanOrEqual(0);
        expect(y).toBeLessThan(1);
        const inBox = (box: number[]) => x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3];
        expect(inBox(a) || inBox(b)).toBe(true);
      }
    });
    expect(hashSets(data.sets)).toBe(
      hashSets(setMultiMnist({ split: 'test', numSets: 60, seed: 5, shufflePoints: false }).sets),
    );
    expect(hashSets(data.sets)).toBe('42757bbed2e8e6c4'); // pinned: byte-identical on every run
    // balanced classes (canvas k has class k mod 100); 'slots': first digit left, second right
    expect(Array.from(data.labels)).toEqual(Array.from({ length: 60 }, (_, k) => k % 100));
    for (let k = 0; k < 60; k++) {
      expect(data.boxes[8 * k + 2]).toBeLessThanOrEqual(0.5); // xmax of the first digit
      expect(data.boxes[8 * k + 4]).toBeGreaterThanOrEqual(0.5); // xmin of the second
    }
    const prefix = setMultiMnist({ split: 'test', numSets: 60, limit: 10, seed: 5, shufflePoints: false });
    expect(hashSets(prefix.sets)).toBe(hashSets(data.sets.slice(0, 10)));
    expect(Array.from(prefix.boxes)).toEqual(Array.from(data.boxes.subarray(0, 80)));
    expect(() => setMultiMnist({ split: 'train', canvasSize: 40 })).toThrow(
      /canvasSize: expected an integer >= 56, got 40/,
    );
  });
});

describe('syntheticMolecules', () => {
  const data = syntheticMolecules({ numSets: 300, seed: 0 });

  it('size distribution as the reference code (2..35; mean ≈ 7.3, ~41% of sets have 5 atoms)', () => {
    // Running cvignac/Top-N's generator (numpy, seed 0, 2500 sets) gives sizes 2..35, mean 7.30,
    // 41.6% of size 5 (sets close after 30 rejections once they have > 4 atoms). The paper says "9 on average".
    const sizes = data.sets.map((s) => s.n);
    const { min, max, mean } = stats(sizes);
    expect(data.sets).toHaveLength(300);
    expect(min).toBeGreaterThanOrEqual(2);
    expect(max).toBeLessThanOrEqual(35);
    expect(mean).toBeGreaterThan(6.3);
    expect(mean).toBeLessThan(8.7);
    const fives = sizes.filter((n) => n === 5).length / sizes.length;
    expect(fives).toBeGreaterThan(0.3);
    expect(fives).toBeLessThan(0.52);
  });

  it('every set: in the box, min distance ≥ 1, connected, valency = #neighbours ≤ drawn max (1..4)', () => {
    data.sets.forEach((set, s) => {
      const at = (i: number) => [set.values[3 * i], set.values[3 * i + 1], set.values[3 * i + 2]];
      for (let i = 0; i < set.n; i++) {
        let neighbours = 0;
        for (const v of at(i)) expect(Math.abs(v)).toBeLessThanOrEqual(6);
        for (let j = 0; j < set.n; j++) {
          if (i === j) continue;
          const [p, q] = [at(i), at(j)];
          const dist = Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
          expect(dist).toBeGreaterThanOrEqual(1);
          if (dist < 2) neighbours++;
        }
        expect(data.valencies[s][i]).toBe(neighbours);
        expect(neighbours).toBeGreaterThanOrEqual(1);
        expect(neighbours).toBeLessThanOrEqual(data.maxValencies[s][i]);
        expect(data.maxValencies[s][i]).toBeLessThanOrEqual(4);
      }
      // connected: a graph search from atom 0 reaches every atom
      const seen = new Set([0]);
      const queue = [0];
      while (queue.length) {
        const i = queue.pop()!;
        for (let j = 0; j < set.n; j++) {
          const [p, q] = [at(i), at(j)];
          if (!seen.has(j) && Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]) < 2) {
            seen.add(j);
            queue.push(j);
          }
        }
      }
      expect(seen.size).toBe(set.n);
    });
  });

  it('one-hot valency features and determinism', () => {
    const small = syntheticMolecules({ numSets: 20, seed: 9, oneHotValency: true });
    small.sets.forEach((set, s) => {
      expect(set.d).toBe(7);
      for (let i = 0; i < set.n; i++) {
        const oneHot = Array.from(set.values.subarray(7 * i + 3, 7 * i + 7));
        expect(oneHot.indexOf(1)).toBe(small.valencies[s][i] - 1);
        expect(oneHot.reduce((a, b) => a + b)).toBe(1);
      }
    });
    expect(hashSets(small.sets)).toBe(
      hashSets(syntheticMolecules({ numSets: 20, seed: 9, oneHotValency: true }).sets),
    );
    expect(hashSets(small.sets)).toBe('bcbe4d03d64798ef'); // pinned: byte-identical on every run;
    expect(() => syntheticMolecules({ numSets: -1 })).toThrow(/numSets: expected an integer >= 0, got -1/);
    expect(() => syntheticMolecules({ numSets: 1, valencyProbabilities: [0.5, 0.1] })).toThrow(ConfigError);
  });
});

describe('polygons', () => {
  it('regular polygons rotated by the input angle', () => {
    const data = polygons({ numSets: 50, seed: 2 });
    data.sets.forEach((set, s) => {
      expect(set.n).toBe(4);
      const theta = data.angles[s];
      expect(data.inputs[2 * s]).toBeCloseTo(Math.cos(theta), 6);
      expect(data.inputs[2 * s + 1]).toBeCloseTo(Math.sin(theta), 6);
      const angles: number[] = [];
      for (let i = 0; i < 4; i++) {
        const [x, y] = [set.values[2 * i], set.values[2 * i + 1]];
        expect(Math.hypot(x, y)).toBeCloseTo(1, 5);
        angles.push((((Math.atan2(y, x) - theta) % (Math.PI / 2)) + Math.PI / 2) % (Math.PI / 2));
      }
      for (const a of angles) expect(Math.min(a, Math.PI / 2 - a)).toBeLessThan(1e-5);
    });
  });

  it('random corner counts cover the range; noise and radius apply', () => {
    const data = polygons({ numSets: 200, cornerRange: [3, 6], radius: 2, seed: 1 });
    expect(new Set(data.corners)).toEqual(new Set([3, 4, 5, 6]));
    data.sets.forEach((s, k) => {
      expect(s.n).toBe(data.corners[k]);
    });
    expect(Math.hypot(data.sets[0].values[0], data.sets[0].values[1])).toBeCloseTo(2, 5);
    const noisy = polygons({ numSets: 5, noise: 0.1, seed: 1 });
    expect(Math.abs(Math.hypot(noisy.sets[0].values[0], noisy.sets[0].values[1]) - 1)).toBeGreaterThan(1e-4);
    expect(hashSets(data.sets)).toBe(
      hashSets(polygons({ numSets: 200, cornerRange: [3, 6], radius: 2, seed: 1 }).sets),
    );
    expect(hashSets(data.sets)).toBe('d09ae98e39a1cc1e'); // pinned: byte-identical on every run
    expect(() => polygons({ cornerRange: [5, 3] })).toThrow(
      /cornerRange\[1\]: expected an integer >= 5, got 3/,
    );
  });
});

describe('options: typos and wrong types are ConfigErrors naming the key', () => {
  it('every generator and the batching refuse unknown keys and wrong types before any work', () => {
    const cases: [() => unknown, RegExp][] = [
      [
        () => setMnist({ split: 'all', treshold: 0.2 } as never),
        /options\.treshold: unknown option \(did you mean 'threshold'\?\)/,
      ],
      [
        () => setMnist({ split: 'all', jitter: 'no' } as never),
        /options\.jitter: expected true or false, got "no"/,
      ],
      [
        () => syntheticMolecules({ numSets: 1, oneHotValency: 1 } as never),
        /options\.oneHotValency: expected true or false/,
      ],
      [
        () => polygons({ numSet: 3 } as never),
        /options\.numSet: unknown option \(did you mean 'numSets'\?\)/,
      ],
      [
        () => toSetBatch([{ values: new Float32Array(2), n: 1, d: 2 }], { maxsize: 3 } as never),
        /options\.maxsize: unknown option/,
      ],
      [
        () => batches([], { batchsize: 2 } as never),
        /options\.batchsize: unknown option \(did you mean 'batchSize'\?\)/,
      ],
      [
        () => batches([], { batchSize: 2, shuffle: 'true' } as never),
        /options\.shuffle: expected true or false, got "true"/,
      ],
    ];
    for (const [call, message] of cases) {
      expect(call).toThrow(ConfigError);
      expect(call).toThrow(message);
    }
  });
});
