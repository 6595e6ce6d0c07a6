// Every public package of the workspace (packages/*/package.json without `"private": true`)
// and every entry of its `exports` map: what the release checks iterate over, so packages,
// subpaths and dependencies added later are checked too.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The workspace root. */
export const root = resolve(import.meta.dirname, '../../..');

export interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  sideEffects?: boolean | string[];
  exports?: Record<string, string | Record<string, string>>;
  bin?: string | Record<string, string>;
  files?: string[];
  scripts?: Record<string, string>;
  engines?: Record<string, string>;
  repository?: { type: string; url: string; directory?: string };
  homepage?: string;
  bugs?: { url: string };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
}

export interface PublicPackage {
  /** Folder name under packages/, e.g. 'ops'. */
  folder: string;
  dir: string;
  json: PackageJson;
  /** Subpaths of `exports` that are modules (not `./package.json`), e.g. ['.', './node']. */
  entries: string[];
}

export function readJson<T = PackageJson>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function publicPackages(): PublicPackage[] {
  const packagesDir = join(root, 'packages');
  return readdirSync(packagesDir)
    .sort()
    .filter((folder) => existsSync(join(packagesDir, folder, 'package.json')))
    .map((folder) => {
      const dir = join(packagesDir, folder);
      const json = readJson(join(dir, 'package.json'));
      const entries = Object.keys(json.exports ?? {}).filter((key) => !key.endsWith('.json'));
      return { folder, dir, json, entries };
    })
    .filter((pkg) => pkg.json.private !== true);
}

/** The file an `exports` entry points to under `condition` ('types' or 'default'). */
export function exportTarget(pkg: PublicPackage, entry: string, condition: 'types' | 'default'): string {
  const value = pkg.json.exports?.[entry];
  if (typeof value === 'string') return value;
  const target = value?.[condition];
  if (!target) throw new Error(`${pkg.json.name}: exports["${entry}"] has no "${condition}" condition`);
  return target;
}

/** Whether `file` (a package-relative path like './dist/x.js') matches a `sideEffects` glob. */
export function matchesGlob(pattern: string, file: string): boolean {
  const normalise = (p: string) => p.replace(/^\.\//, '');
  const source = normalise(pattern)
    .split(/(\*\*\/|\*\*|\*)/)
    .map((part) => {
      if (part === '**/') return '(?:.*/)?';
      if (part === '**') return '.*';
      if (part === '*') return '[^/]*';
      return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  // a pattern without a slash matches the file name anywhere (webpack's rule)
  const anchored = normalise(pattern).includes('/') ? `^${source}$` : `(?:^|/)${source}$`;
  return new RegExp(anchored).test(normalise(file));
}
