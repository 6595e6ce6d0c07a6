// The floors of DESIGN.md, checked on every package.json and every import in packages/*/src
// (tests and fixtures included): layers→ops, metrics→ops, data→ops, models→layers|ops, and
// nothing else between @setgen packages (the private @setgen/testkit is for tests only).
// Also: every declared dependency of a package or example is imported somewhere.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { type PackageJson, readJson, root } from './public-packages.js';

/** Which @setgen packages each package may import (DESIGN.md, "Floors"). */
const FLOORS: Record<string, readonly string[]> = {
  ops: [],
  layers: ['ops'],
  metrics: ['ops'],
  data: ['ops'],
  models: ['layers', 'ops'],
};
/** Private helpers any package's tests may use. */
const TEST_ONLY = new Set(['testkit']);

interface SourceFile {
  /** Folder under packages/, e.g. 'models'. */
  pkg: string;
  /** Path for messages. */
  path: string;
  text: string;
  test: boolean;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return /\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports: static imports, re-exports, `import()` and `require()`. */
export function importsOf(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, false);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.arguments.length > 0 &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      const callee = node.expression;
      if (
        callee.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(callee) && callee.text === 'require')
      ) {
        found.push(node.arguments[0].text);
      }
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `@setgen/models/node` → 'models'; anything else → null. */
function setgenPackage(specifier: string): string | null {
  const match = /^@setgen\/([^/]+)/.exec(specifier);
  return match ? match[1] : null;
}

/** Edges that break the floors, as messages (empty = clean). */
export function floorViolations(files: SourceFile[], manifests: Record<string, PackageJson>): string[] {
  const problems: string[] = [];
  const allowed = (from: string, to: string, test: boolean) =>
    from === to || (FLOORS[from] ?? []).includes(to) || (test && TEST_ONLY.has(to));
  for (const file of files) {
    if (!(file.pkg in FLOORS)) continue;
    for (const specifier of importsOf(file.path, file.text)) {
      const to = setgenPackage(specifier);
      if (to && !allowed(file.pkg, to, file.test)) {
        problems.push(
          `${file.path} imports ${specifier}: ${file.pkg} may import only ${FLOORS[file.pkg].join(', ') || 'no other @setgen package'}`,
        );
      }
    }
  }
  for (const [pkg, json] of Object.entries(manifests)) {
    if (!(pkg in FLOORS)) continue;
    for (const field of ['dependencies', 'peerDependencies', 'devDependencies'] as const) {
      for (const name of Object.keys(json[field] ?? {})) {
        const to = setgenPackage(name);
        if (to && !allowed(pkg, to, field === 'devDependencies')) {
          problems.push(
            `packages/${pkg}/package.json ${field} has ${name}: ${pkg} may depend only on ${FLOORS[pkg].join(', ') || 'no other @setgen package'}`,
          );
        }
      }
    }
  }
  return problems;
}

/** Module names a file refers to in strings (e.g. `resolve('mnist/src/…')`), besides its imports. */
function referencedInStrings(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, false);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteralLike(node)) found.push(node.text);
    else if (ts.isTemplateExpression(node)) found.push(node.head.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const packageName = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];

/**
 * `dependencies`/`peerDependencies` that nothing uses: not imported, not named in a string
 * (a module resolved at run time), not run by a script, and not a peer that a used
 * dependency needs the app to provide (`others`: the workspace's manifests by name).
 */
export function unusedDependencies(
  files: SourceFile[],
  json: PackageJson,
  others: Record<string, PackageJson> = {},
): string[] {
  const used = new Set(files.flatMap((f) => importsOf(f.path, f.text)).map(packageName));
  const strings = new Set(files.flatMap((f) => referencedInStrings(f.path, f.text)).map(packageName));
  const scripts = Object.values(json.scripts ?? {}).join(' ');
  const declared = Object.keys({ ...json.dependencies, ...json.peerDependencies });
  const peersOfUsed = new Set(
    declared
      .filter((name) => used.has(name))
      .flatMap((name) => Object.keys(others[name]?.peerDependencies ?? {})),
  );
  return declared.filter(
    (name) =>
      !used.has(name) &&
      !strings.has(name) &&
      !peersOfUsed.has(name) &&
      !scripts.includes(name.split('/').pop() as string),
  );
}

function workspace(kind: 'packages' | 'examples') {
  const dir = join(root, kind);
  return readdirSync(dir)
    .filter((folder) => existsSync(join(dir, folder, 'package.json')))
    .map((folder) => {
      const src = join(dir, folder, 'src');
      const files: SourceFile[] = (existsSync(src) ? filesUnder(src) : []).map((path) => ({
        pkg: folder,
        path: relative(root, path),
        text: readFileSync(path, 'utf8'),
        test: /\.test\.|__fixtures__|\/testing\b/.test(path),
      }));
      for (const extra of ['bench', 'bin']) {
        const more = join(dir, folder, extra);
        if (existsSync(more)) {
          for (const path of filesUnder(more)) {
            files.push({
              pkg: folder,
              path: relative(root, path),
              text: readFileSync(path, 'utf8'),
              test: true,
            });
          }
        }
      }
      return { folder, json: readJson(join(dir, folder, 'package.json')), files };
    });
}

it('every import and package.json of packages/* keeps to the floors', () => {
  const packages = workspace('packages');
  expect(packages.map((p) => p.folder)).toEqual(expect.arrayContaining(Object.keys(FLOORS)));
  const files = packages.flatMap((p) => p.files);
  expect(files.length).toBeGreaterThan(50);
  const manifests = Object.fromEntries(packages.map((p) => [p.folder, p.json]));
  expect(floorViolations(files, manifests)).toEqual([]);
});

it('fails when an upward or sideways import is added (the check can fail)', () => {
  const packages = workspace('packages');
  const manifests = Object.fromEntries(packages.map((p) => [p.folder, p.json]));
  const upward: SourceFile[] = [
    {
      pkg: 'ops',
      path: 'packages/ops/src/x.ts',
      text: "import { SetVAE } from '@setgen/models';",
      test: false,
    },
    {
      pkg: 'models',
      path: 'packages/models/src/y.ts',
      text: "export { batches } from '@setgen/data';",
      test: false,
    },
    {
      pkg: 'layers',
      path: 'packages/layers/src/z.ts',
      text: "const m = await import('@setgen/metrics/node');",
      test: false,
    },
    {
      pkg: 'data',
      path: 'packages/data/src/w.ts',
      text: "type T = import('@setgen/layers').SetBatch;",
      test: false,
    },
    { pkg: 'metrics', path: 'packages/metrics/src/v.ts', text: "import '@setgen/testkit';", test: false },
  ];
  const problems = floorViolations(upward, {
    ...manifests,
    models: {
      ...manifests.models,
      dependencies: { ...manifests.models.dependencies, '@setgen/data': 'workspace:*' },
    },
  });
  expect(problems).toHaveLength(6);
  expect(problems[0]).toMatch(
    /packages\/ops\/src\/x.ts imports @setgen\/models: ops may import only no other @setgen package/,
  );
  expect(problems[1]).toMatch(/models may import only layers, ops/);
  expect(problems.at(-1)).toMatch(/packages\/models\/package.json dependencies has @setgen\/data/);
  // allowed edges and test-only helpers pass
  const fine: SourceFile[] = [
    {
      pkg: 'models',
      path: 'a.ts',
      text: "import { abl } from '@setgen/layers';\nimport { Random } from '@setgen/ops/internal';",
      test: false,
    },
    { pkg: 'data', path: 'b.test.ts', text: "import { expectClose } from '@setgen/testkit';", test: true },
  ];
  expect(floorViolations(fine, {})).toEqual([]);
});

it('every dependency a package or example declares is imported', () => {
  const all = [...workspace('packages'), ...workspace('examples')];
  const manifests = Object.fromEntries(all.map((p) => [p.json.name, p.json]));
  const unused = all.flatMap((p) =>
    unusedDependencies(p.files, p.json, manifests).map((name) => `${p.folder}: ${name}`),
  );
  expect(unused).toEqual([]);
  expect(unusedDependencies([], { name: 'x', version: '0', dependencies: { lodash: '1' } })).toEqual([
    'lodash',
  ]);
});
