// A tf.io handler that keeps a checkpoint in a directory, saved atomically as a whole:
// the weights go to a new file with a unique name (`weights-<id>.bin`, flushed to disk),
// then a new `model.json` naming it is written beside (flushed) and renamed over the old
// one — the single step that switches checkpoints — and only then are the old weight
// files removed. A crash at any point leaves the old checkpoint or the new one, whole.
// Checkpoints of the older layout (`model.json` + `weights.bin`) load and are replaced.
import { mkdir as mkdirNode, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError, DataError } from '@setgen/ops';
import { io } from '@tensorflow/tfjs-core';

const MODEL_FILE = 'model.json';
/** Files a save may leave behind or replace: weight buffers and model.json drafts. */
const OWN_FILE = /^(weights(-[a-z0-9]+)?\.bin|model\.json\.tmp-[a-z0-9]+)$/;

/** The file operations a save uses (replaceable in tests to inject crashes). */
export interface FileOperations {
  mkdir(path: string): Promise<void>;
  /** Writes a new file and flushes it to disk. */
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  list(path: string): Promise<string[]>;
  /** Flushes a directory's entries (the rename) to disk. */
  syncDirectory(path: string): Promise<void>;
}

export const nodeFileOperations: FileOperations = {
  async mkdir(path) {
    await mkdirNode(path, { recursive: true });
  },
  async writeFile(path, data) {
    const file = await open(path, 'wx');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
  },
  rename,
  async remove(path) {
    await rm(path, { force: true });
  },
  list: (path) => readdir(path),
  async syncDirectory(path) {
    const dir = await open(path, 'r');
    try {
      await dir.sync();
    } catch {
      // some file systems cannot fsync a directory; the rename is still atomic
    } finally {
      await dir.close();
    }
  },
};

/** Wraps a Node error (EEXIST, ENOTDIR, EISDIR, ENOSPC, …) in a DataError naming the path. */
function fileError(action: string, path: string, error: unknown): DataError {
  const e = error as NodeJS.ErrnoException;
  return new DataError(
    `checkpoint: cannot ${action} ${path}${e?.code ? ` (${e.code})` : ''}: ${e?.message ?? String(error)}`,
  );
}

/** Strips a `file://` scheme. */
function toDirectory(pathOrUrl: string): string {
  return pathOrUrl.startsWith('file://') ? pathOrUrl.slice('file://'.length) : pathOrUrl;
}

/** A weight path of model.json, resolved and kept inside the checkpoint folder. */
function insideFolder(dir: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new DataError(
      `checkpoint: weight path ${JSON.stringify(path)} in ${join(dir, MODEL_FILE)} is not a file name`,
    );
  }
  const file = resolve(dir, path);
  const rel = relative(resolve(dir), file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new DataError(
      `checkpoint: weight path ${JSON.stringify(path)} in ${join(dir, MODEL_FILE)} leaves the checkpoint folder`,
    );
  }
  return file;
}

/** `fileSystem('runs/setvae')` → an IOHandler keeping a checkpoint in that directory. */
export function fileSystem(
  directory: string,
  { files = nodeFileOperations }: { files?: FileOperations } = {},
): io.IOHandler {
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
      const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
      const weightsFile = `weights-${id}.bin`;
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${weightsFile}`], weights: artifacts.weightSpecs ?? [] }],
        userDefinedMetadata: artifacts.userDefinedMetadata,
      };
      const step = async (action: string, path: string, run: () => Promise<void>) => {
        try {
          await run();
        } catch (error) {
          throw fileError(action, path, error);
        }
      };
      await step('create the folder', dir, () => files.mkdir(dir));
      const weightsPath = join(dir, weightsFile);
      const draft = join(dir, `${MODEL_FILE}.tmp-${id}`);
      const target = join(dir, MODEL_FILE);
      await step('write', weightsPath, () => files.writeFile(weightsPath, new Uint8Array(weightData)));
      await step('write', draft, () => files.writeFile(draft, JSON.stringify(modelJson)));
      // the switch: model.json now names the new weights (the old ones are still there)
      await step('replace', target, () => files.rename(draft, target));
      await step('flush', dir, () => files.syncDirectory(dir));
      // what no checkpoint refers to any more: old weights, drafts of interrupted saves. The
      // save is done; what cannot be removed now is removed by the next save.
      try {
        const stale = (await files.list(dir)).filter((name) => OWN_FILE.test(name) && name !== weightsFile);
        for (const name of stale) await files.remove(join(dir, name));
      } catch {}
      return { modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<io.ModelArtifacts> {
      const path = join(dir, MODEL_FILE);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        throw fileError('read', path, error);
      }
      let modelJson: io.ModelJSON;
      try {
        modelJson = JSON.parse(text) as io.ModelJSON;
      } catch (error) {
        throw new DataError(`checkpoint: ${path} is not valid JSON (${(error as Error).message})`);
      }
      if (!modelJson || !Array.isArray(modelJson.weightsManifest)) {
        throw new DataError(`checkpoint: ${path} has no weightsManifest`);
      }
      const files = modelJson.weightsManifest.flatMap((group) => {
        if (!group || !Array.isArray(group.paths))
          throw new DataError(`checkpoint: ${path} has a malformed weightsManifest`);
        return group.paths.map((p) => insideFolder(dir, p));
      });
      return io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const buffers: ArrayBuffer[] = [];
        for (const file of files) {
          let bytes: Buffer;
          try {
            bytes = await readFile(file);
          } catch (error) {
            throw fileError('read', file, error);
          }
          buffers.push(
            bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
          );
        }
        return [manifest.flatMap((group) => group.weights), io.concatenateArrayBuffers(buffers)];
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
