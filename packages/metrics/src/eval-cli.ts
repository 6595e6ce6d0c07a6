/**
 * `setgen-eval generated.npy reference.npy [--json] [--metrics cd,emd,jsd] [--emd exact|auction|pointflow-approx]
 * [--emd-pruning bounds|none] [--workers N] [--shard i/K --out DIR | --merge DIR]`: PointFlow's generation metrics of two
 * `[K, N, D]` .npy files, on all cores, or split into independent shards (sharded-evaluation.ts).
 * A progress bar goes to stderr when it is a terminal; the table (or JSON) to stdout.
 * Exit codes: 0 success, 1 bad input file, 2 bad command line.
 */
import { readFile } from 'node:fs/promises';
import { type HostSet, readNpy, SetgenError } from '@setgen/ops';
import { computeAllMetricsWith, EVALUATED_PAIRS } from './compute-all-metrics.js';
import type { CloudDistance, EmdMethod } from './distance-matrices.js';
import type { EmdPruning, PairCounts } from './emd-pruning.js';
import { jsdBetweenPointCloudSets } from './jsd.js';
import { evaluateShard, mergeShards } from './sharded-evaluation.js';
import { workerExecutor } from './worker-pool.js';

const USAGE = `usage: setgen-eval generated.npy reference.npy [--json] [--metrics cd,emd,jsd] [--emd exact|auction|pointflow-approx] [--emd-pruning bounds|none] [--workers N]

  generated.npy, reference.npy   float arrays of shape [K, N, D] (K clouds of N points)
  --metrics   any of cd, emd, jsd (comma- or space-separated); default cd,emd (+ jsd when D = 3)
  --emd       EMD solver: exact (default, optimal assignment), auction (faster, within 1e-6),
              or pointflow-approx (PointFlow's approxmatch heuristic, for published numbers)
  --emd-pruning  bounds (default with --emd exact): compute only the exact EMDs the metrics
              depend on (nearest-neighbour searches with lower bounds, identical results);
              none: every pair (the only choice for auction and pointflow-approx, and for shards)
  --workers   worker threads (default: all cores)
  --json      print one JSON object instead of a table
  --shard i/K --out DIR   compute only shard i of K (0 ≤ i < K) of the distance blocks into DIR;
              blocks already in DIR are skipped, so a killed shard resumes; run the K shards
              anywhere (a Slurm array, Kubernetes Jobs, GNU parallel) with the same inputs
  --merge DIR assemble the blocks of all shards in DIR and print the metrics (identical to an
              unsharded run); names the missing blocks if a shard has not finished
  --block-pairs N  pairs per block file (with --shard; default ≈ a minute of work)`;

/** Where the CLI writes; `process` streams by default. */
export interface CliIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

class UsageError extends Error {}

interface CliArgs {
  files: string[];
  json: boolean;
  metrics?: string[];
  emd: EmdMethod;
  emdPruning?: EmdPruning;
  workers?: number;
  shard?: { index: number; count: number };
  out?: string;
  merge?: string;
  blockPairs?: number;
}

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { files: [], json: false, emd: 'exact' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--emd') {
      const v = argv[++i];
      if (v !== 'exact' && v !== 'auction' && v !== 'pointflow-approx') {
        throw new UsageError(`--emd: expected exact, auction or pointflow-approx, got ${v ?? 'nothing'}`);
      }
      args.emd = v;
    } else if (a === '--emd-pruning') {
      const v = argv[++i];
      if (v !== 'bounds' && v !== 'none') {
        throw new UsageError(`--emd-pruning: expected bounds or none, got ${v ?? 'nothing'}`);
      }
      args.emdPruning = v;
    } else if (a === '--workers') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1)
        throw new UsageError(`--workers: expected an integer ≥ 1, got ${argv[i] ?? 'nothing'}`);
      args.workers = v;
    } else if (a === '--metrics') {
      args.metrics = [];
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--'))
        args.metrics.push(...argv[++i].split(',').filter(Boolean));
      const bad = args.metrics.filter((m) => !['cd', 'emd', 'jsd'].includes(m));
      if (args.metrics.length === 0 || bad.length > 0) {
        throw new UsageError(`--metrics: expected any of cd, emd, jsd, got ${bad.join(',') || 'nothing'}`);
      }
    } else if (a === '--shard') {
      const match = /^(\d+)\/(\d+)$/.exec(argv[++i] ?? '');
      const index = Number(match?.[1]);
      const count = Number(match?.[2]);
      if (!match || !(count >= 1 && index < count)) {
        throw new UsageError(`--shard: expected i/K with 0 ≤ i < K, got ${argv[i] ?? 'nothing'}`);
      }
      args.shard = { index, count };
    } else if (a === '--out' || a === '--merge') {
      const v = argv[++i];
      if (!v || v.startsWith('--')) throw new UsageError(`${a}: expected a folder, got ${v ?? 'nothing'}`);
      if (a === '--out') args.out = v;
      else args.merge = v;
    } else if (a === '--block-pairs') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1)
        throw new UsageError(`--block-pairs: expected an integer ≥ 1, got ${argv[i] ?? 'nothing'}`);
      args.blockPairs = v;
    } else if (a === '--help' || a === '-h') throw new UsageError('');
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else args.files.push(a);
  }
  if (args.files.length !== 2)
    throw new UsageError(`expected 2 files (generated, reference), got ${args.files.length}`);
  if (args.shard && !args.out) throw new UsageError('--shard needs --out DIR');
  if (args.out && !args.shard) throw new UsageError('--out goes with --shard i/K');
  if (args.merge && args.shard) throw new UsageError('--merge and --shard exclude each other');
  if (args.blockPairs !== undefined && !args.shard) throw new UsageError('--block-pairs goes with --shard');
  if (args.emdPruning === 'bounds' && (args.shard || args.merge)) {
    // a pruned search decides each pair from the results of others: it cannot be cut into
    // independent blocks, so shards always compute the full matrices
    throw new UsageError('--emd-pruning bounds needs one process; --shard/--merge compute every pair');
  }
  if (args.emdPruning === 'bounds' && args.emd !== 'exact') {
    throw new UsageError(
      `--emd-pruning bounds needs --emd exact (its bounds hold for the exact EMD), got ${args.emd}`,
    );
  }
  return args;
}

/** Reads a `[K, N, D]` float .npy file into host sets (views on one array). */
async function readClouds(path: string): Promise<HostSet[]> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new SetgenError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const { data, shape, dtype } = readNpy(bytes, path);
  if (shape.length !== 3 || shape.some((s) => s < 1)) {
    throw new SetgenError(
      `${path}: expected an array of shape [K, N, D] with K, N, D ≥ 1, got (${shape.join(', ')})`,
    );
  }
  if (!(data instanceof Float32Array || data instanceof Float64Array) || dtype === 'bool') {
    throw new SetgenError(`${path}: expected float32 or float64 values, got ${dtype}`);
  }
  const [k, n, d] = shape;
  return Array.from({ length: k }, (_, i) => ({ values: data.subarray(i * n * d, (i + 1) * n * d), n, d }));
}

function progressBar(
  stderr: CliIO['stderr'],
  unit = 'pairs',
): ((done: number, total: number) => void) | undefined {
  if (!stderr.isTTY) return undefined;
  const started = Date.now();
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < 100) return;
    last = now;
    const width = 30;
    const filled = Math.round((width * done) / Math.max(total, 1));
    const elapsed = (now - started) / 1000;
    const eta = done > 0 ? (elapsed * (total - done)) / done : 0;
    stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${((100 * done) / Math.max(total, 1)).toFixed(1)}% ` +
        `${done}/${total} ${unit}, ${elapsed.toFixed(0)} s elapsed, ~${eta.toFixed(0)} s left${done === total ? '\n' : ''}`,
    );
  };
}

/** Runs the CLI; resolves to the exit code (never calls `process.exit`). */
export async function runEvalCli(argv: readonly string[], io: CliIO = process): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    const message = (error as Error).message;
    io.stderr.write(`${message ? `setgen-eval: ${message}\n` : ''}${USAGE}\n`);
    return message ? 2 : 0;
  }
  try {
    const generated = await readClouds(args.files[0]);
    const reference = await readClouds(args.files[1]);
    const d = generated[0].d;
    const metrics = args.metrics ?? ['cd', 'emd', ...(d === 3 && reference[0].d === 3 ? ['jsd'] : [])];
    const distances = metrics.filter((m): m is CloudDistance => m === 'cd' || m === 'emd');
    if (args.shard && args.out) {
      const { index, count } = args.shard;
      const done = await evaluateShard(
        { generated, reference, distances, emd: args.emd, pairsPerBlock: args.blockPairs },
        workerExecutor({ workers: args.workers }),
        { dir: args.out, shard: index, shards: count, onProgress: progressBar(io.stderr, 'blocks') },
      );
      io.stdout.write(
        `shard ${index}/${count}: ${done.computed} blocks computed, ${done.skipped} already done, of ${done.blocks} (in ${args.out})\n`,
      );
      return 0;
    }
    const results: Record<string, number> = {};
    let pairsNote = '';
    if (metrics.includes('jsd')) results.JSD = jsdBetweenPointCloudSets(generated, reference);
    if (args.merge) {
      Object.assign(results, mergeShards({ generated, reference }, args.merge));
    } else if (distances.length > 0) {
      const values = await computeAllMetricsWith(
        workerExecutor({ workers: args.workers }),
        generated,
        reference,
        {
          distances,
          emd: args.emd,
          emdPruning: args.emdPruning,
          onProgress: progressBar(io.stderr),
        },
      );
      Object.assign(results, values);
      const emdPairs = (values[EVALUATED_PAIRS] as Partial<Record<CloudDistance, PairCounts>>).emd;
      if (emdPairs && emdPairs.computed < emdPairs.total) {
        const stopped = emdPairs.stopped ? `, ${emdPairs.stopped} more stopped at their cutoff` : '';
        const note = `EMD: ${emdPairs.computed} exact pairs of ${emdPairs.total}${stopped} (--emd-pruning bounds)\n`;
        // JSON stays the metrics only; the count goes beside the table, or to stderr
        if (args.json) io.stderr.write(note);
        else pairsNote = note;
      }
    }
    if (args.json) {
      io.stdout.write(`${JSON.stringify(results)}\n`);
    } else {
      const width = Math.max(...Object.keys(results).map((k) => k.length));
      io.stdout.write(
        `${generated.length} generated vs ${reference.length} reference clouds (EMD: ${args.emd})\n`,
      );
      for (const [key, value] of Object.entries(results))
        io.stdout.write(`${key.padEnd(width)}  ${value.toPrecision(6)}\n`);
      io.stdout.write(pairsNote);
    }
    return 0;
  } catch (error) {
    if (error instanceof SetgenError) {
      io.stderr.write(`setgen-eval: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
