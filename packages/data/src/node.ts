// Node-only entry of @setgen/data: loaders that read files from disk.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError, type NpyArray, readNpy } from '@setgen/ops';
import { checkChoice, checkOptions, is } from '@setgen/ops/internal';
import { type ClevrDataset, type ClevrEncoding, clevrScenesToSets } from './clevr.js';
import { type MnistImages, mnistImagesFromIdx } from './mnist-images.js';
import { readTextFile, readWholeFile } from './read-file.js';

export * from './point-clouds.js';

async function readMaybeGzipped(path: string): Promise<Uint8Array> {
  for (const candidate of [path, `${path}.gz`]) {
    const bytes = await readFile(candidate).catch((error: NodeJS.ErrnoException) => {
      if (error?.code === 'ENOENT') return null;
      return readWholeFile(candidate); // rethrows with the reason (a directory, no permission)
    });
    if (bytes) {
      try {
        return new Uint8Array(candidate.endsWith('.gz') ? gunzipSync(bytes) : bytes);
      } catch (error) {
        throw new DataError(`${candidate}: not a valid gzip file (${(error as Error).message})`);
      }
    }
  }
  throw new DataError(`${path}: not found (nor ${path}.gz)`);
}

/**
 * The standard MNIST IDX files of `dir` (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
 * `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally `.gz`). Use with
 * `setMnist({ split: 'all', images: mnist.train })`.
 */
export async function loadMnistIdx(dir: string): Promise<{ train: MnistImages; test: MnistImages }> {
  const load = async (prefix: string) => {
    const images = join(dir, `${prefix}-images-idx3-ubyte`);
    const labels = join(dir, `${prefix}-labels-idx1-ubyte`);
    return mnistImagesFromIdx(await readMaybeGzipped(images), await readMaybeGzipped(labels), [
      images,
      labels,
    ]);
  };
  return { train: await load('train'), test: await load('t10k') };
}

/** Reads an `.npy` file; errors name the path. */
export async function readNpyFile(path: string): Promise<NpyArray> {
  return readNpy(await readWholeFile(path), path);
}

/**
 * A CLEVR scene file (`CLEVR_<split>_scenes.json`) → one set per scene: 4-d boxes or 18-d
 * object states (see `ClevrEncoding`). All scenes are checked before returning (`DataError`
 * naming the file and scene, e.g. a scene without objects).
 */
export async function loadClevrScenes(
  jsonPath: string,
  options: { encoding: ClevrEncoding },
): Promise<ClevrDataset> {
  const checked = checkOptions(options, { encoding: is.oneOf(['boxes', 'state'] as const) }, 'options');
  const encoding = checkChoice(checked.encoding, 'options.encoding', ['boxes', 'state'] as const);
  const text = await readTextFile(jsonPath);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DataError(`${jsonPath}: not valid JSON (${(error as Error).message})`);
  }
  return clevrScenesToSets(json, encoding, jsonPath);
}
