import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError, DataError, readNpy, writeNpy } from '@setgen/ops';
import { loadFixture } from '@setgen/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClevrScenes, loadMnistIdx, loadPointClouds, type PointCloud, readNpyFile } from './node.js';
import { setMnist } from './set-mnist.js';

const fixtures = join(import.meta.dirname, '__fixtures__');
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'setgen-data-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function idx(type: number, shape: number[], data: Uint8Array) {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  out.set([0, 0, type, shape.length]);
  shape.forEach((s, k) => {
    new DataView(out.buffer).setUint32(4 + 4 * k, s);
  });
  out.set(data, 4 + 4 * shape.length);
  return out;
}

describe('loadMnistIdx', () => {
  it('reads plain and gzipped IDX files and feeds setMnist', async () => {
    const dir = join(tmp, 'mnist');
    await mkdir(dir);
    const pixels = new Uint8Array(3 * 4 * 4);
    pixels[0] = 255; // image 0: (row 0, col 0)
    pixels[16 + 5] = 100; // image 1: (row 1, col 1)
    pixels[32 + 15] = 20; // image 2: dim pixel, below threshold
    await writeFile(join(dir, 'train-images-idx3-ubyte'), idx(8, [3, 4, 4], pixels));
    await writeFile(
      join(dir, 'train-labels-idx1-ubyte.gz'),
      gzipSync(idx(8, [3], Uint8Array.from([5, 0, 4]))),
    );
    await writeFile(
      join(dir, 't10k-images-idx3-ubyte.gz'),
      gzipSync(idx(8, [1, 4, 4], pixels.subarray(0, 16))),
    );
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), idx(8, [1], Uint8Array.from([9])));
    const { train, test } = await loadMnistIdx(dir);
    expect([train.count, train.rows, train.cols, test.count]).toEqual([3, 4, 4, 1]);
    expect(Array.from(train.labels)).toEqual([5, 0, 4]);
    const sets = setMnist({ split: 'all', images: train, convention: 'dspn' });
    expect(sets.sets.map((s) => Array.from(s.values))).toEqual([[0, 1], [1 / 3, 2 / 3].map(Math.fround), []]);
  });

  it('DataError naming the file for missing, truncated or mismatched files', async () => {
    const dir = join(tmp, 'mnist-bad');
    await mkdir(dir);
    await expect(loadMnistIdx(dir)).rejects.toThrow(/train-images-idx3-ubyte: not found/);
    await writeFile(join(dir, 'train-images-idx3-ubyte'), idx(8, [3, 4, 4], new Uint8Array(40)));
    await writeFile(join(dir, 'train-labels-idx1-ubyte'), idx(8, [3], new Uint8Array(3)));
    await expect(loadMnistIdx(dir)).rejects.toThrow(
      /train-images-idx3-ubyte: truncated IDX data: shape \[3,4,4\] needs 64 bytes, file has 56/,
    );
    await writeFile(join(dir, 'train-images-idx3-ubyte'), idx(8, [3, 4, 4], new Uint8Array(48)));
    await writeFile(join(dir, 'train-labels-idx1-ubyte'), idx(8, [2], new Uint8Array(2)));
    await expect(loadMnistIdx(dir)).rejects.toThrow(/train-labels-idx1-ubyte: expected 3 labels/);
    await writeFile(join(dir, 'train-labels-idx1-ubyte'), new Uint8Array([1, 2, 3, 4, 5]));
    await expect(loadMnistIdx(dir)).rejects.toThrow(DataError);
  });
});

describe('loadClevrScenes', () => {
  const expected = loadFixture<{ state: number[][][]; boxes: number[][][] }>(
    import.meta.dirname,
    'clevr-expected.json',
  );

  it.each(['state', 'boxes'] as const)('%s encoding matches DSPN', async (encoding) => {
    const data = await loadClevrScenes(join(fixtures, 'clevr-scenes.json'), { encoding });
    expect(Array.from(data.imageIndices)).toEqual([0, 1]);
    expect(data.sets.map((s) => [s.n, s.d])).toEqual([
      [3, encoding === 'state' ? 18 : 4],
      [1, encoding === 'state' ? 18 : 4],
    ]);
    data.sets.forEach((set, k) => {
      const want = expected[encoding][k].flat();
      for (const [i, v] of set.values.entries()) expect(v).toBeCloseTo(want[i], 5);
    });
  });

  it('DataError for a scene without objects, unknown attributes, bad JSON; ConfigError for a bad encoding', async () => {
    const scenes = JSON.parse(await readFile(join(fixtures, 'clevr-scenes.json'), 'utf8'));
    const path = join(tmp, 'scenes.json');
    scenes.scenes[1].objects = [];
    await writeFile(path, JSON.stringify(scenes));
    await expect(loadClevrScenes(path, { encoding: 'state' })).rejects.toThrow(DataError);
    await expect(loadClevrScenes(path, { encoding: 'state' })).rejects.toThrow(
      /scenes\.json: scenes\[1\]: expected a scene with a non-empty 'objects' array/,
    );
    scenes.scenes[1].objects = [{ ...scenes.scenes[0].objects[0], color: 'pink' }];
    await writeFile(path, JSON.stringify(scenes));
    await expect(loadClevrScenes(path, { encoding: 'state' })).rejects.toThrow(
      /scenes\[1\]\.objects\[0\]\.color: expected one of cyan.*got "pink"/,
    );
    await writeFile(path, '{"scenes": [');
    await expect(loadClevrScenes(path, { encoding: 'boxes' })).rejects.toThrow(/not valid JSON/);
    await expect(loadClevrScenes(path, { encoding: 'pixels' as 'boxes' })).rejects.toThrow(ConfigError);
  });
});

describe('loadPointClouds', () => {
  const clouds: Record<string, Float32Array> = {};
  let root: string;
  beforeAll(async () => {
    root = join(tmp, 'shapenet');
    let k = 0;
    for (const synset of ['02691156', '03001627']) {
      for (const split of ['train', 'val']) {
        await mkdir(join(root, synset, split), { recursive: true });
        for (let f = 0; f < 2; f++) {
          // 12 points: a few distinct values per shape; (k, 2k, -k) offsets make the stats non-trivial
          const data = Float32Array.from({ length: 36 }, (_, i) => ((i * 7 + k) % 11) + (i % 3) * k);
          const path = join(root, synset, split, `shape${f}.npy`);
          clouds[path] = data;
          await writeFile(path, writeNpy(data, [12, 3]));
          k++;
        }
      }
    }
  });

  async function collect(source: AsyncIterable<PointCloud>) {
    const out = [];
    for await (const c of source) out.push(c);
    return out;
  }

  it('global normalisation uses the train statistics (per-axis mean, scalar std)', async () => {
    const train = Object.entries(clouds).filter(([p]) => p.includes('/train/'));
    const all = train.flatMap(([, d]) => Array.from(d));
    const mean = [0, 1, 2].map(
      (c) => all.filter((_, i) => i % 3 === c).reduce((a, b) => a + b) / (all.length / 3),
    );
    // numpy all.reshape(-1).std(): around the overall mean of the coordinates
    const overall = all.reduce((a, b) => a + b) / all.length;
    const std = Math.sqrt(all.reduce((a, v) => a + (v - overall) ** 2, 0) / all.length);
    const source = await loadPointClouds(root, { split: 'val', numPoints: 5, normalize: 'global' });
    expect(source.files).toHaveLength(4);
    source.stats?.mean.forEach((m, c) => {
      expect(m).toBeCloseTo(mean[c], 5);
    });
    expect(source.stats?.std).toBeCloseTo(std, 5);
    const val = await collect(source);
    expect(val.map((c) => c.path)).toEqual(source.files.map((f) => f.path));
    for (const cloud of val) {
      const raw = clouds[cloud.path];
      // val/test: the first numPoints points, deterministic; de-normalising restores them
      for (let i = 0; i < 15; i++)
        expect(cloud.values[i] * cloud.scale + cloud.mean[i % 3]).toBeCloseTo(raw[i], 4);
    }
  });

  it('train: seeded sampling with replacement of real points; per-shape normalisation', async () => {
    const options = {
      split: 'train',
      synsets: ['chair'], // = 03001627 (SHAPENET_SYNSETS)
      numPoints: 20,
      normalize: 'per-shape',
      seed: 4,
    } as const;
    const a = await collect(await loadPointClouds(root, options));
    const b = await collect(await loadPointClouds(root, options));
    expect(a.map((c) => Array.from(c.values))).toEqual(b.map((c) => Array.from(c.values)));
    expect(a).toHaveLength(2);
    expect(a.map((c) => c.synset)).toEqual(['03001627', '03001627']);
    for (const cloud of a) {
      expect(cloud.n).toBe(20);
      const raw = clouds[cloud.path];
      const rows = new Set(
        Array.from({ length: 12 }, (_, i) => Array.from(raw.subarray(3 * i, 3 * i + 3)).join()),
      );
      for (let i = 0; i < 20; i++) {
        const restored = [0, 1, 2].map((c) =>
          Math.round(cloud.values[3 * i + c] * cloud.scale + cloud.mean[c]),
        );
        expect(rows.has(restored.join())).toBe(true);
      }
      // per-shape: the cloud's own mean
      const m0 =
        Array.from(raw)
          .filter((_, i) => i % 3 === 0)
          .reduce((x, y) => x + y) / 12;
      expect(cloud.mean[0]).toBeCloseTo(m0, 5);
    }
    const raw = await collect(
      await loadPointClouds(root, { ...options, normalize: 'none', split: 'val', numPoints: 12 }),
    );
    expect(Array.from(raw[0].values)).toEqual(Array.from(clouds[raw[0].path]));
  });

  it('iterates directly (for await over the call) or after await; errors reject the first use', async () => {
    const paths: string[] = [];
    for await (const cloud of loadPointClouds(root, { split: 'val', numPoints: 3, normalize: 'none' }))
      paths.push(cloud.path);
    expect(paths).toEqual(
      (await loadPointClouds(root, { split: 'val', numPoints: 3, normalize: 'none' })).files.map(
        (f) => f.path,
      ),
    );
    const failing = async () => {
      for await (const _ of loadPointClouds(join(tmp, 'nope'), { split: 'val' })) expect.unreachable();
    };
    await expect(failing()).rejects.toThrow(DataError);
  });

  it('streams: one cloud per step, usable with shuffle; reads a numpy-written file', async () => {
    const shuffled = await loadPointClouds(root, {
      split: 'train',
      shuffle: true,
      seed: 1,
      numPoints: 4,
      normalize: 'none',
    });
    expect(new Set(shuffled.files.map((f) => f.path)).size).toBe(4);
    const fromNumpy = await readNpyFile(join(fixtures, 'cloud-f4.npy'));
    expect(fromNumpy.shape).toEqual([12, 3]);
    const dir = join(tmp, 'numpy-root', 'x', 'test');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'a.npy'), await readFile(join(fixtures, 'cloud-f4.npy')));
    const [cloud] = await collect(
      await loadPointClouds(join(tmp, 'numpy-root'), { split: 'test', numPoints: 12, normalize: 'none' }),
    );
    expect(Array.from(cloud.values)).toEqual(
      Array.from(readNpy(await readFile(join(fixtures, 'cloud-f4.npy'))).data),
    );
  });

  it('15k-style clouds: statistics over all points, train samples the first 10,000, val/test the rest', async () => {
    const big = join(tmp, 'big-root');
    await mkdir(join(big, 's', 'train'), { recursive: true });
    await mkdir(join(big, 's', 'val'), { recursive: true });
    const train = new Float32Array(3 * 10002);
    train.fill(3, 3 * 10000); // only the 2 held-out points are non-zero
    await writeFile(join(big, 's', 'train', 'a.npy'), writeNpy(train, [10002, 3]));
    const val = new Float32Array(3 * 10004);
    for (let i = 0; i < 4; i++) val.fill(i + 1, 3 * (10000 + i), 3 * (10001 + i));
    await writeFile(join(big, 's', 'val', 'b.npy'), writeNpy(val, [10004, 3]));
    const source = await loadPointClouds(big, { split: 'val', numPoints: 4 });
    const mean = 6 / 10002;
    expect(source.stats?.mean[0]).toBeCloseTo(mean, 9);
    expect(source.stats?.std).toBeCloseTo(Math.sqrt((2 * 9) / 10002 - mean ** 2), 9);
    const [cloud] = await collect(source);
    // the held-out points 10000..10003, in order
    expect(Array.from(cloud.values, (v) => Math.round(v * cloud.scale + cloud.mean[0]))).toEqual([
      1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4,
    ]);
    const [trained] = await collect(
      await loadPointClouds(big, { split: 'train', numPoints: 50, normalize: 'none' }),
    );
    expect(Array.from(trained.values).every((v) => v === 0)).toBe(true); // never the held-out points
  });

  it('DataError for a missing or empty directory, a truncated or wrongly shaped file', async () => {
    await expect(loadPointClouds(join(tmp, 'nope'), { split: 'train' })).rejects.toThrow(
      /nope: expected a directory/,
    );
    const empty = join(tmp, 'empty-root');
    await mkdir(join(empty, 's', 'train'), { recursive: true });
    await expect(loadPointClouds(empty, { split: 'train' })).rejects.toThrow(
      /empty directory, no <synset>\/train\/\*\.npy files/,
    );
    await expect(loadPointClouds(root, { split: 'train', synsets: ['missing'] })).rejects.toThrow(
      /missing[/\\]train: expected a folder/,
    );
    const bad = join(tmp, 'bad-root', 's', 'train');
    await mkdir(bad, { recursive: true });
    const good = writeNpy(new Float32Array(36), [12, 3]);
    await writeFile(join(bad, 'a.npy'), good.subarray(0, good.length - 5));
    await expect(loadPointClouds(join(tmp, 'bad-root'), { split: 'train' })).rejects.toThrow(
      /a\.npy: truncated \.npy data/,
    );
    await writeFile(join(bad, 'a.npy'), writeNpy(new Float32Array(8), [4, 2]));
    await expect(loadPointClouds(join(tmp, 'bad-root'), { split: 'train' })).rejects.toThrow(
      /a\.npy: expected float points of shape \[N,3\], got float32 \[4,2\]/,
    );
    await expect(loadPointClouds(root, { split: 'dev' as 'train' })).rejects.toThrow(ConfigError);
    await expect(loadPointClouds(root, { split: 'train', normalise: 'none' } as never)).rejects.toThrow(
      /options\.normalise: unknown option \(did you mean 'normalize'\?\)/,
    );
    await expect(loadPointClouds(root, { split: 'train', shuffle: 'yes' } as never)).rejects.toThrow(
      /options\.shuffle: expected true or false/,
    );
  });

  it('one NaN in one training file: a DataError naming the file, or the file skipped on request', async () => {
    const nanRoot = join(tmp, 'nan-root');
    const files: string[] = [];
    for (const split of ['train', 'val']) {
      await mkdir(join(nanRoot, 's', split), { recursive: true });
      for (let f = 0; f < 3; f++) {
        const data = Float32Array.from({ length: 36 }, (_, i) => ((i * 5 + f) % 7) - 3);
        if (split === 'train' && f === 1) data[13] = Number.NaN; // point 4, coordinate 1
        const path = join(nanRoot, 's', split, `c${f}.npy`);
        await writeFile(path, writeNpy(data, [12, 3]));
        files.push(path);
      }
    }
    const poisoned = join(nanRoot, 's', 'train', 'c1.npy');
    for (const split of ['train', 'val'] as const) {
      await expect(loadPointClouds(nanRoot, { split, numPoints: 4 })).rejects.toThrow(DataError);
      await expect(loadPointClouds(nanRoot, { split, numPoints: 4 })).rejects.toThrow(
        /c1\.npy: expected finite coordinates, got NaN at point 4, coordinate 1/,
      );
    }
    // per-shape normalisation reads the file when it is reached: the error names it then
    const perShape = async () => {
      for await (const _ of loadPointClouds(nanRoot, {
        split: 'train',
        normalize: 'per-shape',
        numPoints: 4,
      }));
    };
    await expect(perShape()).rejects.toThrow(/c1\.npy: expected finite coordinates/);

    // skipping: the statistics are those of the two clean training files, every cloud is finite
    const source = await loadPointClouds(nanRoot, { split: 'val', numPoints: 4, invalidFiles: 'skip' });
    expect(source.skipped).toEqual([poisoned]);
    const clean = files.filter((f) => f.includes('train') && f !== poisoned);
    const values = (await Promise.all(clean.map((f) => readNpyFile(f)))).flatMap((a) => Array.from(a.data));
    const mean = [0, 1, 2].map(
      (c) => values.filter((_, i) => i % 3 === c).reduce((a, b) => a + b) / (values.length / 3),
    );
    expect(source.stats?.mean).toEqual(mean.map((m) => expect.closeTo(m, 6)));
    const val = await collect(source);
    expect(val).toHaveLength(3);
    expect(val.every((c) => Array.from(c.values).every(Number.isFinite))).toBe(true);
    const train = await collect(
      await loadPointClouds(nanRoot, { split: 'train', numPoints: 4, invalidFiles: 'skip' }),
    );
    expect(train.map((c) => c.path)).toEqual(clean);
  });
});

describe('readNpyFile', () => {
  it('says what is wrong with the path: missing, or a directory', async () => {
    await expect(readNpyFile(join(tmp, 'absent.npy'))).rejects.toThrow(/absent\.npy: file not found/);
    await mkdir(join(tmp, 'folder.npy'), { recursive: true });
    await expect(readNpyFile(join(tmp, 'folder.npy'))).rejects.toThrow(DataError);
    await expect(readNpyFile(join(tmp, 'folder.npy'))).rejects.toThrow(
      /folder\.npy: is a directory, expected a file/,
    );
  });
});
