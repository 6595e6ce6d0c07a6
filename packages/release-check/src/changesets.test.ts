// `changeset version` on a copy of the workspace's manifests and changesets: every public
// package still at 0.0.0 (unreleased) must come out at exactly 0.1.0 with one 0.1.0 entry
// holding its first-release note, whatever other changesets were added since (patch or minor).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicPackages, readJson, root } from './public-packages.js';

const packages = publicPackages();
let copy = '';

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'setgen-changesets-'));
  for (const file of ['package.json', 'pnpm-workspace.yaml']) cpSync(join(root, file), join(copy, file));
  cpSync(join(root, '.changeset'), join(copy, '.changeset'), { recursive: true });
  for (const group of ['packages', 'examples']) {
    if (!existsSync(join(root, group))) continue;
    for (const name of readdirSync(join(root, group))) {
      const manifest = join(root, group, name, 'package.json');
      if (!existsSync(manifest)) continue;
      mkdirSync(join(copy, group, name), { recursive: true });
      cpSync(manifest, join(copy, group, name, 'package.json'));
      const changelog = join(root, group, name, 'CHANGELOG.md');
      if (existsSync(changelog)) cpSync(changelog, join(copy, group, name, 'CHANGELOG.md'));
    }
  }
  const bin = join(root, 'node_modules', '.bin', 'changeset');
  const run = spawnSync(bin, ['version'], {
    cwd: copy,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  if (run.status !== 0) throw new Error(`changeset version failed:\n${run.stdout}${run.stderr}`);
}, 300_000);

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

it('consumes every changeset', () => {
  expect(readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md')).toEqual(
    [],
  );
});

describe.each(packages.map((pkg) => [pkg.json.name, pkg] as const))('%s', (_name, pkg) => {
  const unreleased = pkg.json.version === '0.0.0';

  it.runIf(unreleased)('unreleased: comes out at 0.1.0 with one honest first-release entry', () => {
    const after = readJson(join(copy, 'packages', pkg.folder, 'package.json'));
    expect(after.version).toBe('0.1.0');
    const changelog = readFileSync(join(copy, 'packages', pkg.folder, 'CHANGELOG.md'), 'utf8');
    expect(changelog.match(/^## .*/gm)).toEqual(['## 0.1.0']);
    expect(changelog).toContain('- First release.');
    // nothing released before 0.1.0 can have been removed, renamed or made faster
    expect(changelog).not.toMatch(/no longer exported|Updated dependencies/);
    // @setgen/* dependencies point at the released versions
    for (const [dep, range] of Object.entries(after.dependencies ?? {})) {
      if (dep.startsWith('@setgen/')) expect(range, dep).toBe('workspace:*');
    }
  });

  it.runIf(!unreleased)('released: changeset version still runs and gives a valid version', () => {
    const after = readJson(join(copy, 'packages', pkg.folder, 'package.json'));
    expect(after.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
