// A tf.io handler that keeps model artifacts in a directory: `model.json` (topology,
// manifest) + `weights.bin`. Writes are atomic per file (temp file, then rename), weights
// first, so a crash never leaves a model.json that points at missing weights; a torn pair
// is caught on load by the checksum `writeCheckpoint` puts in model.json.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, DataError } from '@setgen/ops';
import { io } from '@tensorflow/tfjs-core';

const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Strips a `file://` scheme. */
function toDirectory(pathOrUrl: string): string {
  return pathOrUrl.startsWith('file://') ? pathOrUrl.slice('file://'.length) : pathOrUrl;
}

/** `fileSystem('runs/setvae')` → an IOHandler reading/writing `model.json` + `weights.bin` there. */
export function fileSystem(directory: string): io.IOHandler {
  if (typeof directory !== 'string' || directory.length === 0) {
    throw new ConfigError(`directory: expected a non-empty path, got ${JSON.stringify(directory)}`);
  }
  const dir = toDirectory(directory);
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      const weightData =
        artifacts.weightData === undefined
          ? new ArrayBuffer(0)
          : Array.isArray(artifacts.weightData)
            ? io.concatenateArrayBuffers(artifacts.weightData)
            : artifacts.weightData;
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
        userDefinedMetadata: artifacts.userDefinedMetadata,
      };
      await mkdir(dir, { recursive: true });
      await writeAtomic(join(dir, WEIGHTS_FILE), new Uint8Array(weightData));
      await writeAtomic(join(dir, MODEL_FILE), JSON.stringify(modelJson));
      return { modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<io.ModelArtifacts> {
      let text: string;
      try {
        text = await readFile(join(dir, MODEL_FILE), 'utf8');
      } catch (error) {
        throw new DataError(`checkpoint: cannot read ${join(dir, MODEL_FILE)}: ${(error as Error).message}`);
      }
      let modelJson: io.ModelJSON;
      try {
        modelJson = JSON.parse(text) as io.ModelJSON;
      } catch (error) {
        throw new DataError(
          `checkpoint: ${join(dir, MODEL_FILE)} is not valid JSON (${(error as Error).message})`,
        );
      }
      if (!modelJson || !Array.isArray(modelJson.weightsManifest)) {
        throw new DataError(`checkpoint: ${join(dir, MODEL_FILE)} has no weightsManifest`);
      }
      return io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const buffers: ArrayBuffer[] = [];
        const specs: io.WeightsManifestEntry[] = [];
        for (const group of manifest) {
          for (const path of group.paths) {
            const file = join(dir, path);
            let bytes: Buffer;
            try {
              bytes = await readFile(file);
            } catch (error) {
              throw new DataError(`checkpoint: cannot read ${file}: ${(error as Error).message}`);
            }
            buffers.push(
              bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
            );
          }
          specs.push(...group.weights);
        }
        return [specs, io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

/** True for `file://…` and for strings without a URL scheme (plain paths). */
function isFilePath(url: string | string[]): url is string {
  return typeof url === 'string' && (url.startsWith('file://') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url));
}

let routersRegistered = false;

/** Lets `model.save('dir')` / `SetVAE.load('dir')` (and `file://dir`) reach `fileSystem`. */
export function registerFileSystemRouters(): void {
  if (routersRegistered) return;
  routersRegistered = true;
  io.registerSaveRouter((url) => (isFilePath(url) ? fileSystem(url) : null) as io.IOHandler);
  io.registerLoadRouter((url) => (isFilePath(url) ? fileSystem(url) : null) as io.IOHandler);
}
