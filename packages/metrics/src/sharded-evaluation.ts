/**
 * The PointFlow evaluation split into independent jobs (Node only): the pairs of the
 * distance matrices are cut into numbered blocks; shard i of K computes the blocks b with
 * b mod K = i and writes each to its own file (atomically: a temporary file, then a rename),
 * skipping blocks already on disk, so a killed shard resumes where it stopped. Any scheduler
 * can run the shards (a Slurm job array, Kubernetes Jobs, GNU parallel); `mergeShards` then
 * assembles the matrices and computes the metrics, identical to a single-process run
 * (every distance is the same deterministic function of the same two clouds).
 *
 * Folder layout: `manifest.json` (what is evaluated, with a fingerprint of both inputs: a
 * shard or merge with other inputs or options is refused) and `blocks/<distance>-<b>.f64`
 * (the block's distances, float64 little-endian, in the block's pair order).
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataError, type HostSet } from '@setgen/ops';
import { metricsFromMatrices } from './compute-all-metrics.js';
import {
  type CloudDistance,
  defaultPairsPerTask,
  type EmdMethod,
  emptyMatrices,
  isOrdered,
  type PairwiseExecutor,
  planTasks,
  storeDistances,
} from './distance-matrices.js';

const FORMAT = 'setgen-eval-shards';
const VERSION = 1;

/** What a sharded evaluation computes. */
export interface ShardedJob {
  generated: readonly HostSet[];
  reference: readonly HostSet[];
  distances: readonly CloudDistance[];
  emd: EmdMethod;
  /** Pairs per block file. Default: about a minute of work per block on one core. */
  pairsPerBlock?: number;
}

interface Manifest {
  format: typeof FORMAT;
  version: number;
  nGen: number;
  nRef: number;
  distances: CloudDistance[];
  emd: EmdMethod;
  pairsPerBlock: Record<string, number>;
  fingerprint: string;
}

/** FNV-1a over the clouds' sizes and float64 values: the same inputs give the same string. */
function fingerprint(generated: readonly HostSet[], reference: readonly HostSet[]): string {
  let hash = 0x811c9dc5;
  const mix = (byte: number) => {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  };
  const scratch = new Float64Array(1);
  const bytes = new Uint8Array(scratch.buffer);
  for (const clouds of [generated, reference]) {
    for (const { values, n, d } of clouds) {
      const count = values.length;
      for (let k = -2; k < count; k++) {
        scratch[0] = k === -2 ? n : k === -1 ? d : values[k];
        for (let b = 0; b < 8; b++) mix(bytes[b]);
      }
    }
    mix(0xff);
  }
  return `fnv1a:${(hash >>> 0).toString(16).padStart(8, '0')}:${generated.length}x${reference.length}`;
}

function manifestOf(job: ShardedJob): Manifest {
  const largest = [...job.generated, ...job.reference].reduce((m, c) => Math.max(m, c.n), 1);
  const pairsPerBlock: Record<string, number> = {};
  for (const distance of job.distances) {
    pairsPerBlock[distance] = job.pairsPerBlock ?? Math.max(64, 16 * defaultPairsPerTask(distance, largest));
  }
  return {
    format: FORMAT,
    version: VERSION,
    nGen: job.generated.length,
    nRef: job.reference.length,
    distances: [...job.distances],
    emd: job.emd,
    pairsPerBlock,
    fingerprint: fingerprint(job.generated, job.reference),
  };
}

/** Writes the manifest, or checks that the folder's manifest describes the same evaluation. */
function ensureManifest(dir: string, manifest: Manifest): void {
  const path = join(dir, 'manifest.json');
  let existing: string | null = null;
  try {
    existing = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DataError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code})`);
    }
  }
  if (existing === null) {
    atomicWrite(path, `${JSON.stringify(manifest, null, 2)}\n`);
    return;
  }
  const found = readManifest(dir);
  for (const key of Object.keys(manifest) as (keyof Manifest)[]) {
    if (JSON.stringify(found[key]) !== JSON.stringify(manifest[key])) {
      throw new ConfigError(
        `${path}: this folder holds another evaluation (${key}: ${JSON.stringify(found[key])}, this run: ` +
          `${JSON.stringify(manifest[key])}); use a new --out folder or the same inputs and options`,
      );
    }
  }
}

function readManifest(dir: string): Manifest {
  const path = join(dir, 'manifest.json');
  let parsed: Manifest;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      `${path}: ${code === 'ENOENT' ? 'not found (no shard has run in this folder)' : `unreadable (${code ?? (error as Error).message})`}`,
    );
  }
  if (parsed?.format !== FORMAT || parsed.version !== VERSION) {
    throw new DataError(`${path}: not a ${FORMAT} v${VERSION} manifest`);
  }
  return parsed;
}

function atomicWrite(path: string, data: string | Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}

function blockPath(dir: string, distance: CloudDistance, block: number): string {
  return join(dir, 'blocks', `${distance}-${block}.f64`);
}

/** The blocks of one distance: the pair lists of `planTasks` at the manifest's block size. */
function blocksOf(manifest: Manifest, distance: CloudDistance): Int32Array[] {
  return planTasks(
    manifest.nGen,
    manifest.nRef,
    manifest.pairsPerBlock[distance],
    isOrdered({ distance, emd: manifest.emd }),
  );
}

function isComplete(path: string, pairs: number): boolean {
  try {
    return statSync(path).size === 8 * pairs;
  } catch {
    return false;
  }
}

/** Where a shard stopped. */
export interface ShardResult {
  /** Blocks this shard owns, over all distances. */
  blocks: number;
  /** Blocks computed by this call. */
  computed: number;
  /** Blocks found complete on disk and skipped. */
  skipped: number;
}

/**
 * Computes shard `shard` of `shards` of `job` into `dir` with `executor` (e.g.
 * `workerExecutor()`), skipping blocks already written. Safe to run again after a crash.
 */
export async function evaluateShard(
  job: ShardedJob,
  executor: PairwiseExecutor,
  {
    dir,
    shard,
    shards,
    signal,
    onProgress,
  }: {
    dir: string;
    shard: number;
    shards: number;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<ShardResult> {
  if (!(Number.isInteger(shards) && shards >= 1 && Number.isInteger(shard) && shard >= 0 && shard < shards)) {
    throw new ConfigError(`shard: expected i/K with integers 0 ≤ i < K, got ${shard}/${shards}`);
  }
  const manifest = manifestOf(job);
  mkdirSync(join(dir, 'blocks'), { recursive: true });
  ensureManifest(dir, manifest);
  const clouds = [...job.generated, ...job.reference];
  const result: ShardResult = { blocks: 0, computed: 0, skipped: 0 };
  const owned = manifest.distances.map((distance) => {
    const blocks = blocksOf(manifest, distance);
    const mine: number[] = [];
    for (let b = shard; b < blocks.length; b += shards) {
      result.blocks++;
      if (isComplete(blockPath(dir, distance, b), blocks[b].length / 2)) result.skipped++;
      else mine.push(b);
    }
    return { distance, blocks, mine };
  });
  const total = owned.reduce((s, o) => s + o.mine.length, 0);
  onProgress?.(0, total);
  for (const { distance, blocks, mine } of owned) {
    if (mine.length === 0) continue;
    await executor(
      { clouds, nGen: manifest.nGen, nRef: manifest.nRef, distance, emd: manifest.emd },
      mine.map((b) => blocks[b]),
      (task, values) => {
        const b = mine[task];
        atomicWrite(
          blockPath(dir, distance, b),
          new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
        );
        result.computed++;
        onProgress?.(result.computed, total);
      },
      signal,
    );
  }
  return result;
}

/**
 * Assembles the blocks in `dir` into the distance matrices and returns the metrics, exactly
 * as a single-process `computeAllMetrics` of the same job. Throws `DataError` naming the
 * missing blocks (and which shard owns them) if any is absent or torn.
 */
export function mergeShards(
  job: Pick<ShardedJob, 'generated' | 'reference'>,
  dir: string,
  { shards }: { shards?: number } = {},
): Record<string, number> {
  const manifest = readManifest(dir);
  const expected = fingerprint(job.generated, job.reference);
  if (manifest.fingerprint !== expected) {
    throw new ConfigError(
      `${join(dir, 'manifest.json')}: the blocks were computed from other clouds (fingerprint ${manifest.fingerprint}, these inputs ${expected})`,
    );
  }
  const result: Record<string, number> = {};
  for (const distance of manifest.distances) {
    const blocks = blocksOf(manifest, distance);
    const ordered = isOrdered({ distance, emd: manifest.emd });
    const { nGen, nRef } = manifest;
    const matrices = emptyMatrices(nGen, nRef);
    const missing: number[] = [];
    blocks.forEach((pairs, b) => {
      const path = blockPath(dir, distance, b);
      if (!isComplete(path, pairs.length / 2)) {
        missing.push(b);
        return;
      }
      const bytes = readFileSync(path);
      const values = new Float64Array(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      );
      storeDistances(matrices, pairs, values, ordered);
    });
    if (missing.length > 0) {
      const owner = (b: number) => (shards ? ` (shard ${b % shards}/${shards})` : '');
      throw new DataError(
        `${dir}: ${missing.length} of ${blocks.length} ${distance} blocks are missing or incomplete, e.g. ` +
          `${missing
            .slice(0, 5)
            .map((b) => `${distance}-${b}${owner(b)}`)
            .join(', ')}; run those shards (finished blocks are skipped)`,
      );
    }
    const tag = distance.toUpperCase();
    for (const [name, value] of Object.entries(metricsFromMatrices(matrices)))
      result[`${name}-${tag}`] = value;
  }
  return result;
}
