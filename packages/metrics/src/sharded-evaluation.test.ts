import { mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError, type HostSet } from '@setgen/ops';
import { testRandom } from '@setgen/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { computeAllMetrics } from './compute-all-metrics.js';
import { localExecutor } from './distance-matrices.js';
import { evaluateShard, mergeShards, type ShardedJob } from './sharded-evaluation.js';

function clouds(seed: number, k: number, n: number): HostSet[] {
  const rand = testRandom(seed);
  return Array.from({ length: k }, () => ({
    values: Float64Array.from({ length: n * 3 }, () => rand() - 0.5),
    n,
    d: 3,
  }));
}

const generated = clouds(1, 5, 12);
const reference = clouds(2, 6, 12);
const job: ShardedJob = { generated, reference, distances: ['cd', 'emd'], emd: 'exact', pairsPerBlock: 4 };
const dirs: string[] = [];
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'setgen-shards-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('sharded evaluation', () => {
  it('merged shards equal a single-process run exactly, whatever the number of shards', async () => {
    const single = await computeAllMetrics(generated, reference, { distances: ['cd', 'emd'] });
    for (const shards of [1, 3, 7]) {
      const dir = folder();
      let blocks = 0;
      for (let shard = 0; shard < shards; shard++) {
        const done = await evaluateShard(job, localExecutor, { dir, shard, shards });
        expect(done.skipped).toBe(0);
        expect(done.computed).toBe(done.blocks);
        blocks += done.blocks;
      }
      // 5·6 + 10 + 15 = 55 pairs of each distance in blocks of 4: 14 blocks each
      expect(blocks).toBe(28);
      expect(mergeShards(job, dir)).toEqual(single);
    }
  });

  it('resumes: finished blocks are skipped, a torn or missing block is computed again', async () => {
    const dir = folder();
    await evaluateShard(job, localExecutor, { dir, shard: 0, shards: 2 });
    await evaluateShard(job, localExecutor, { dir, shard: 1, shards: 2 });
    const files = readdirSync(join(dir, 'blocks')).sort();
    expect(files.length).toBe(28);
    rmSync(join(dir, 'blocks', 'emd-3.f64'));
    truncateSync(join(dir, 'blocks', 'cd-5.f64'), 8); // a block cut short by a crash
    const again = await evaluateShard(job, localExecutor, { dir, shard: 1, shards: 2 });
    expect(again).toEqual({ blocks: 14, computed: 2, skipped: 12 });
    expect(readdirSync(join(dir, 'blocks')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(mergeShards(job, dir)).toEqual(await computeAllMetrics(generated, reference));
  });

  it('merge names the missing blocks and the shard that owns them', async () => {
    const dir = folder();
    await evaluateShard(job, localExecutor, { dir, shard: 0, shards: 3 });
    expect(() => mergeShards(job, dir, { shards: 3 })).toThrow(DataError);
    expect(() => mergeShards(job, dir, { shards: 3 })).toThrow(/cd-1 \(shard 1\/3\)/);
  });

  it('refuses a folder of another evaluation, and merging other clouds', async () => {
    const dir = folder();
    await evaluateShard(job, localExecutor, { dir, shard: 0, shards: 4 });
    await expect(
      evaluateShard({ ...job, emd: 'auction' }, localExecutor, { dir, shard: 1, shards: 4 }),
    ).rejects.toThrow(/emd: "exact", this run: "auction"/);
    const other = { ...job, generated: clouds(9, 5, 12) };
    await expect(evaluateShard(other, localExecutor, { dir, shard: 1, shards: 4 })).rejects.toThrow(
      ConfigError,
    );
    expect(() => mergeShards(other, dir)).toThrow(/computed from other clouds/);
    expect(() => mergeShards(job, folder())).toThrow(/no shard has run/);
  });

  it('rejects a shard index outside 0 … K−1', async () => {
    await expect(evaluateShard(job, localExecutor, { dir: folder(), shard: 3, shards: 3 })).rejects.toThrow(
      ConfigError,
    );
  });
});
