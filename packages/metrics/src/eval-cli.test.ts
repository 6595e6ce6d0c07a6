import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostSet, writeNpy } from '@setgen/ops';
import { testRandom } from '@setgen/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeAllMetrics } from './compute-all-metrics.js';
import { runEvalCli } from './eval-cli.js';
import { jsdBetweenPointCloudSets } from './jsd.js';

const packageDir = join(import.meta.dirname, '..');
let work: string;
let cli: string;

function clouds(seed: number, k: number, n: number, d = 3): Float32Array {
  const rand = testRandom(seed);
  return Float32Array.from({ length: k * n * d }, () => (rand() - 0.5) * 0.8);
}
const asSets = (data: Float32Array, k: number, n: number, d = 3): HostSet[] =>
  Array.from({ length: k }, (_, i) => ({ values: data.subarray(i * n * d, (i + 1) * n * d), n, d }));

function run(...args: string[]) {
  const out = spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8' });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

const gen = clouds(1, 4, 16);
const ref = clouds(2, 5, 16);

beforeAll(() => {
  // compile the current sources to JavaScript so the real executable can be spawned
  work = mkdtempSync(join(tmpdir(), 'setgen-eval-'));
  try {
    execFileSync(
      'pnpm',
      [
        'exec',
        'tsc',
        '-p',
        'tsconfig.json',
        '--outDir',
        join(work, 'dist'),
        '--composite',
        'false',
        '--incremental',
        'false',
        '--declaration',
        'false',
        '--declarationMap',
        'false',
        '--sourceMap',
        'false',
      ],
      { cwd: packageDir, stdio: 'pipe' },
    );
  } catch {
    // type errors still emit JavaScript; the existence check below is what matters
  }
  cli = join(work, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error(`compiling the CLI failed: ${cli} missing`);
  writeFileSync(join(work, 'package.json'), '{ "type": "module" }');
  symlinkSync(join(packageDir, 'node_modules'), join(work, 'node_modules'));
  writeFileSync(join(work, 'gen.npy'), writeNpy(gen, [4, 16, 3]));
  writeFileSync(join(work, 'ref.npy'), writeNpy(ref, [5, 16, 3]));
  writeFileSync(join(work, 'ref64.npy'), writeNpy(Float64Array.from(ref), [5, 16, 3]));
  writeFileSync(join(work, 'flat.npy'), writeNpy(gen, [64, 3]));
  writeFileSync(join(work, 'ints.npy'), writeNpy(new Int32Array(12), [2, 2, 3]));
  writeFileSync(join(work, 'two-d.npy'), writeNpy(clouds(3, 4, 16, 2), [4, 16, 2]));
  writeFileSync(join(work, 'bad.npy'), 'not numpy at all');
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('setgen-eval (spawned)', () => {
  it('prints the metrics as JSON, equal to the library functions', async () => {
    const out = run('gen.npy', 'ref64.npy', '--json', '--metrics', 'cd', 'jsd', '--workers', '2');
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const json = JSON.parse(out.stdout);
    const expected = await computeAllMetrics(asSets(gen, 4, 16), asSets(ref, 5, 16), { distances: ['cd'] });
    expect(json['MMD-CD']).toBeCloseTo(expected['MMD-CD'], 6);
    expect(json['COV-CD']).toBe(expected['COV-CD']);
    expect(json['1-NNA-CD']).toBe(expected['1-NNA-CD']);
    expect(json.JSD).toBeCloseTo(jsdBetweenPointCloudSets(asSets(gen, 4, 16), asSets(ref, 5, 16)), 10);
    expect(Object.keys(json).sort()).toEqual(['1-NNA-CD', 'COV-CD', 'JSD', 'MMD-CD']);
  });

  it('prints a table with all default metrics (CD, EMD, JSD for 3-D)', () => {
    const out = run('gen.npy', 'ref.npy', '--emd', 'auction');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/4 generated vs 5 reference clouds \(EMD: auction\)/);
    for (const key of ['MMD-CD', 'COV-CD', '1-NNA-CD', 'MMD-EMD', 'COV-EMD', '1-NNA-EMD', 'JSD']) {
      expect(out.stdout).toMatch(new RegExp(`^${key} +[0-9.e-]+$`, 'm'));
    }
    expect(out.stderr).toBe(''); // not a terminal: no progress bar
  });

  it("--emd pointflow-approx gives PointFlow's approxmatch numbers", async () => {
    const out = run('gen.npy', 'ref.npy', '--json', '--metrics', 'emd', '--emd', 'pointflow-approx');
    expect(out.code).toBe(0);
    const expected = await computeAllMetrics(asSets(gen, 4, 16), asSets(ref, 5, 16), {
      distances: ['emd'],
      emd: 'pointflow-approx',
    });
    expect(JSON.parse(out.stdout)['MMD-EMD']).toBeCloseTo(expected['MMD-EMD'], 6);
  });

  it('--shard i/K --out DIR then --merge DIR prints exactly the unsharded result', () => {
    const single = run('gen.npy', 'ref.npy', '--json', '--metrics', 'cd', 'emd', '--workers', '1');
    expect(single.code).toBe(0);
    for (let i = 0; i < 3; i++) {
      const shard = run(
        'gen.npy',
        'ref.npy',
        '--metrics',
        'cd',
        'emd',
        '--shard',
        `${i}/3`,
        '--out',
        'blocks',
        '--block-pairs',
        '5',
        '--workers',
        '1',
      );
      expect(shard.stderr).toBe('');
      expect(shard.code).toBe(0);
      expect(shard.stdout).toMatch(new RegExp(`^shard ${i}/3: \\d+ blocks computed, 0 already done`));
    }
    const again = run(
      'gen.npy',
      'ref.npy',
      '--metrics',
      'cd',
      'emd',
      '--shard',
      '1/3',
      '--out',
      'blocks',
      '--block-pairs',
      '5',
    );
    expect(again.stdout).toMatch(/^shard 1\/3: 0 blocks computed, \d+ already done/);
    const merged = run('gen.npy', 'ref.npy', '--json', '--metrics', 'cd', 'emd', '--merge', 'blocks');
    expect(merged.code).toBe(0);
    expect(JSON.parse(merged.stdout)).toEqual(JSON.parse(single.stdout));
    expect(run('gen.npy', 'ref.npy', '--shard', '3/3', '--out', 'x').code).toBe(2);
    expect(run('gen.npy', 'ref.npy', '--shard', '0/2').code).toBe(2);
    expect(run('gen.npy', 'ref.npy', '--merge', 'nowhere').code).toBe(1);
  });

  it('--emd-pruning bounds (the default) prints the metrics of every pair and says how many it solved', () => {
    // six shapes (boxes of different proportions), each reference with a jittered generated twin
    const rand = testRandom(7);
    const twins = Float32Array.from({ length: 6 * 16 * 3 }, (_, i) => {
      const scale = 0.3 + 0.2 * Math.floor(i / 48) + 0.1 * (i % 3);
      return (rand() - 0.5) * scale;
    });
    writeFileSync(join(work, 'twins-ref.npy'), writeNpy(twins, [6, 16, 3]));
    writeFileSync(
      join(work, 'twins-gen.npy'),
      writeNpy(
        twins.map((v) => v + 0.005 * (rand() - 0.5)),
        [6, 16, 3],
      ),
    );
    const args = ['twins-gen.npy', 'twins-ref.npy', '--metrics', 'emd', '--workers', '2'];
    const full = run(...args, '--json', '--emd-pruning', 'none');
    const pruned = run(...args, '--json');
    expect(full.code).toBe(0);
    expect(full.stderr).toBe('');
    expect(JSON.parse(pruned.stdout)).toEqual(JSON.parse(full.stdout));
    expect(Object.keys(JSON.parse(pruned.stdout)).sort()).toEqual(['1-NNA-EMD', 'COV-EMD', 'MMD-EMD']);
    const solved = /EMD: (\d+) exact pairs of 66 \(--emd-pruning bounds\)/.exec(pruned.stderr);
    expect(Number(solved?.[1])).toBeLessThan(66);
    expect(run(...args).stdout).toMatch(/^EMD: \d+ exact pairs of 66/m);
  });

  it('worker threads run from a parent started with --input-type=module (node -e "import …")', () => {
    const code = `
      const { computeAllMetrics } = await import(${JSON.stringify(join('WORK', 'dist', 'node.js'))});
      const clouds = (s) => Array.from({ length: 3 }, (_, k) => ({ values: Float64Array.from({ length: 48 }, (_, i) => Math.sin(s + k * 7 + i)), n: 16, d: 3 }));
      const m = await computeAllMetrics(clouds(1), clouds(2), { distances: ['cd'], workers: 2 });
      console.log(JSON.stringify(m));`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', code.replace('WORK', work)], {
      cwd: work,
      encoding: 'utf8',
    });
    expect(out.stderr).toBe('');
    expect(Object.keys(JSON.parse(out.stdout)).sort()).toEqual(['1-NNA-CD', 'COV-CD', 'MMD-CD']);
  });

  it('exits 1 with a clear message on bad files', () => {
    const cases: [string[], RegExp][] = [
      [['bad.npy', 'ref.npy'], /bad\.npy: not an \.npy file/],
      [['missing.npy', 'ref.npy'], /missing\.npy: cannot read \(ENOENT\)/],
      [['flat.npy', 'ref.npy'], /flat\.npy: expected an array of shape \[K, N, D\].*got \(64, 3\)/],
      [['ints.npy', 'ref.npy'], /ints\.npy: expected float32 or float64 values, got int32/],
      [['two-d.npy', 'ref.npy', '--metrics', 'cd'], /dimension D = 2.*got D = 3/],
      [['gen.npy', 'two-d.npy', '--metrics', 'jsd'], /reference: expected 3-D points/],
    ];
    for (const [args, message] of cases) {
      const out = run(...args);
      expect(out.code, args.join(' ')).toBe(1);
      expect(out.stderr).toMatch(message);
      expect(out.stdout).toBe('');
    }
  });

  it('exits 2 with the usage on a bad command line', () => {
    for (const args of [
      ['gen.npy'],
      ['gen.npy', 'ref.npy', '--emd', 'fast'],
      ['gen.npy', 'ref.npy', '--metrics', 'fid'],
      ['a', 'b', '--bogus'],
      ['gen.npy', 'ref.npy', '--emd-pruning', 'fast'],
      ['gen.npy', 'ref.npy', '--emd-pruning', 'bounds', '--emd', 'auction'],
      ['gen.npy', 'ref.npy', '--emd-pruning', 'bounds', '--shard', '0/2', '--out', 'x'],
      ['gen.npy', 'ref.npy', '--emd-pruning', 'bounds', '--merge', 'blocks'],
    ]) {
      const out = run(...args);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr).toMatch(/usage: setgen-eval generated\.npy reference\.npy/);
    }
  });
});

describe('runEvalCli (in process)', () => {
  it('draws a progress bar on a terminal', async () => {
    let err = '';
    let out = '';
    const code = await runEvalCli(
      [join(work, 'gen.npy'), join(work, 'ref.npy'), '--metrics', 'cd', '--json', '--workers', '1'],
      {
        stdout: { write: (t: string) => (out += t) },
        stderr: { write: (t: string) => (err += t), isTTY: true },
      },
    );
    expect(code).toBe(0);
    expect(err).toMatch(/\r\[#{30}\] 100\.0% 36\/36 pairs/);
    expect(JSON.parse(out)['MMD-CD']).toBeGreaterThan(0);
  });
});
