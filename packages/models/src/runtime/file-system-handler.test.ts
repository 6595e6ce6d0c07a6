// Checkpoints on disk: the save is atomic as a whole (a crash after any file operation,
// or in the middle of a write, leaves a loadable checkpoint, old or new), Node errors come
// back as DataErrors naming the path, weight paths cannot leave the folder, and an edited
// model.json is refused.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '@setgen/ops';
import { describeBackends, expectNoLeak } from '@setgen/testkit';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { padded, ringSets } from '../__fixtures__/ring-sets.js';
import { loadModel, SetVAE, saveModel } from '../node.js'; // routes paths to the file system
import { DeepSetsAutoencoder } from './__fixtures__/deep-sets-autoencoder.js';
import { type FileOperations, fileSystem, nodeFileOperations } from './file-system-handler.js';

const v1Checkpoint = join(import.meta.dirname, '..', '__fixtures__', 'setvae-v1-checkpoint');

/** File operations that perform the first `limit` operations, then crash (a torn write writes half first). */
function crashingAfter(limit: number, { torn = false } = {}) {
  let done = 0;
  const ops: string[] = [];
  const wrap =
    <A extends unknown[]>(name: string, run: (...args: A) => Promise<unknown>) =>
    async (...args: A) => {
      if (done >= limit) {
        if (torn && name === 'writeFile') {
          const [path, data] = args as unknown as [string, Uint8Array | string];
          await writeFile(
            path,
            typeof data === 'string' ? data.slice(0, data.length >> 1) : data.subarray(0, data.length >> 1),
          );
        }
        throw new Error(`crashed before ${name}`);
      }
      done++;
      ops.push(name);
      return run(...args);
    };
  const files = Object.fromEntries(
    Object.entries(nodeFileOperations).map(([name, run]) => [
      name,
      wrap(name, run as (...a: unknown[]) => Promise<unknown>),
    ]),
  ) as unknown as FileOperations;
  return { files, ops };
}

const weightsOf = (model: { trainableVariables: readonly tf.Variable[] }) =>
  model.trainableVariables.map((v) => Array.from(v.dataSync()));

describeBackends('file-system checkpoints', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'setgen-fs-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a crash after any operation of a save (or inside a write) leaves the old or the new checkpoint, whole', async () => {
    const config = { dim: 2, hidden: 8, maxSize: 5, seed: 1 };
    const batch = padded(ringSets([5, 3], 1));
    const older = new DeepSetsAutoencoder(config);
    older.trainStep(batch);
    const newer = new DeepSetsAutoencoder(config);
    for (let i = 0; i < 3; i++) newer.trainStep(batch);
    const full = crashingAfter(Number.POSITIVE_INFINITY);
    await saveModel(older, join(root, 'probe'));
    await saveModel(newer, fileSystem(join(root, 'probe'), { files: full.files }));
    expect(full.ops).toEqual([
      'mkdir',
      'writeFile',
      'writeFile',
      'rename',
      'syncDirectory',
      'list',
      'remove',
    ]);
    const outcomes = new Set<number>();
    for (let k = 0; k <= full.ops.length; k++) {
      for (const torn of [false, true]) {
        const dir = join(root, `crash-${k}-${torn}`);
        await saveModel(older, dir);
        const crashing = crashingAfter(k, { torn });
        const saving = saveModel(newer, fileSystem(dir, { files: crashing.files }));
        // a crash up to the flush of the switch fails the save; after it, only the cleanup (redone next time)
        if (k < 5) await expect(saving).rejects.toThrow(/crashed before/);
        else await saving;
        const loaded = (await loadModel(dir)) as DeepSetsAutoencoder;
        expect([1, 3]).toContain(loaded.step);
        expect(weightsOf(loaded)).toEqual(weightsOf(loaded.step === 1 ? older : newer));
        outcomes.add(loaded.step);
        // the next save cleans what the crash left: model.json and one weight file remain
        await saveModel(loaded, dir);
        const names = (await readdir(dir)).sort();
        expect(names).toHaveLength(2);
        expect(names[0]).toBe('model.json');
        expect(names[1]).toMatch(/^weights-[a-z0-9]+\.bin$/);
        loaded.dispose();
      }
    }
    expect(outcomes).toEqual(new Set([1, 3])); // both sides of the switch were seen
    tf.dispose([batch.x, batch.mask]);
    older.dispose();
    newer.dispose();
  });

  it('replacing a version-1 checkpoint (model.json + weights.bin) is atomic too', async () => {
    const model = await SetVAE.load(v1Checkpoint);
    for (let k = 0; k <= 7; k++) {
      const dir = join(root, `v1-${k}`);
      await cp(v1Checkpoint, dir, { recursive: true });
      const { files } = crashingAfter(k, { torn: true });
      await saveModel(model, fileSystem(dir, { files })).catch((error: Error) => {
        if (!/crashed before/.test(error.message)) throw error;
      });
      const loaded = await SetVAE.load(dir);
      expect(loaded.step).toBe(3);
      expect(weightsOf(loaded)).toEqual(weightsOf(model));
      loaded.dispose();
    }
    model.dispose();
  });

  it('wraps Node errors in DataErrors naming the path (a file where the folder goes, a folder where model.json goes)', async () => {
    const model = new DeepSetsAutoencoder({ dim: 2, hidden: 4, maxSize: 3 });
    const file = join(root, 'a-file');
    await writeFile(file, 'not a folder');
    await expect(model.save(file)).rejects.toThrow(DataError);
    await expect(model.save(file)).rejects.toThrow(new RegExp(`${file}.*\\((EEXIST|ENOTDIR)\\)`));
    await expect(model.save(join(file, 'below'))).rejects.toThrow(/\(ENOTDIR\)/);
    const dir = join(root, 'json-is-a-folder');
    await mkdir(join(dir, 'model.json'), { recursive: true });
    await expect(model.save(dir)).rejects.toThrow(
      new RegExp(`cannot replace ${join(dir, 'model.json')} \\((EISDIR|ENOTEMPTY|EEXIST)\\)`),
    );
    await expect(loadModel(dir)).rejects.toThrow(/cannot read .*model.json \(EISDIR\)/);
    await expect(loadModel(join(root, 'missing'))).rejects.toThrow(/cannot read .*\(ENOENT\)/);
    model.dispose();
  });

  it('refuses edited checkpoints before allocating anything: weight paths outside the folder, swapped names, epoch: null', async () => {
    const model = new DeepSetsAutoencoder({ dim: 2, hidden: 4, maxSize: 3 });
    const dir = join(root, 'edited');
    await model.save(dir);
    const path = join(dir, 'model.json');
    const original = await readFile(path, 'utf8');
    const edit = async (change: (json: Record<string, any>) => void) => {
      const json = JSON.parse(original);
      change(json);
      await writeFile(path, JSON.stringify(json));
    };
    await edit((json) => {
      json.weightsManifest[0].paths = ['../edited-elsewhere.bin'];
    });
    await expect(loadModel(dir)).rejects.toThrow(
      /weight path "..\/edited-elsewhere.bin" .* leaves the checkpoint folder/,
    );
    await edit((json) => {
      json.weightsManifest[0].paths = ['/etc/passwd'];
    });
    await expect(loadModel(dir)).rejects.toThrow(/leaves the checkpoint folder/);
    await edit((json) => {
      const specs = json.weightsManifest[0].weights; // phi/kernel [2,4] ↔ rho/kernel? swap two names
      [specs[0].name, specs[1].name] = [specs[1].name, specs[0].name];
    });
    await expect(loadModel(dir)).rejects.toThrow(/checksum mismatch/);
    await edit((json) => {
      const names = json.modelTopology.modelWeights;
      [names[1], names[3]] = [names[3], names[1]];
    });
    await expect(loadModel(dir)).rejects.toThrow(/checksum mismatch/);
    await edit((json) => {
      json.modelTopology.training.epoch = null;
    });
    await expect(loadModel(dir)).rejects.toThrow(/checksum mismatch/);
    await expectNoLeak(() => loadModel(dir).catch(() => undefined));
    // version 1 has no record checksum: its fields are checked one by one
    const v1 = join(root, 'v1-epoch-null');
    await cp(v1Checkpoint, v1, { recursive: true });
    const json = JSON.parse(await readFile(join(v1, 'model.json'), 'utf8'));
    json.modelTopology.training.epoch = null;
    await writeFile(join(v1, 'model.json'), JSON.stringify(json));
    await expect(SetVAE.load(v1)).rejects.toThrow(/training.epoch: expected a finite number >= 0, got null/);
    await expectNoLeak(() => SetVAE.load(v1).catch(() => undefined));
    await writeFile(path, original);
    (await loadModel(dir)).dispose(); // the untouched checkpoint loads
    model.dispose();
  });
}, ['cpu']);
