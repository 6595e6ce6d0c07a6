// Static checks of every public package's package.json and sources (fast; no build needed).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  exportTarget,
  matchesGlob,
  type PackageJson,
  publicPackages,
  readJson,
  root,
} from './public-packages.js';

const rootJson = readJson(join(root, 'package.json'));
const rootLicense = readFileSync(join(root, 'LICENSE'), 'utf8');

/**
 * Runtime dependencies outside @setgen/* that a library package may have, each with the reason.
 * Libraries never depend on datasets or heavy optional packages (an example may); a new entry
 * here is a deliberate, reviewed choice.
 */
const ALLOWED_DEPENDENCIES: Record<string, string> = {};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === '__fixtures__' ? [] : sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Top-level statements that run code on import (calls, assignments…), not declarations/imports/exports. */
function topLevelEffects(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  return source.statements
    .filter((s) => ts.isExpressionStatement(s) || ts.isIfStatement(s) || ts.isForStatement(s))
    .map((s) => s.getText(source).split('\n')[0]);
}

/** Relative modules (as src paths) that `file` imports or re-exports statically. */
function relativeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  return source.statements.flatMap((s) => {
    const spec =
      (ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) &&
      s.moduleSpecifier &&
      ts.isStringLiteral(s.moduleSpecifier)
        ? s.moduleSpecifier.text
        : null;
    if (!spec?.startsWith('.')) return [];
    if (ts.isImportDeclaration(s) && s.importClause?.isTypeOnly) return [];
    if (ts.isExportDeclaration(s) && s.isTypeOnly) return [];
    return [join(file, '..', spec.replace(/\.js$/, '.ts'))];
  });
}

/** `src/a/b.ts` → `./dist/a/b.js`. */
function distPath(pkgDir: string, srcFile: string): string {
  return `./dist/${relative(join(pkgDir, 'src'), srcFile).replace(/\.ts$/, '.js')}`;
}

function hasSideEffects(json: PackageJson, file: string): boolean {
  const flag = json.sideEffects;
  if (flag === undefined || flag === true) return true;
  if (flag === false) return false;
  return flag.some((pattern) => matchesGlob(pattern, file));
}

describe.each(publicPackages().map((pkg) => [pkg.json.name, pkg] as const))('%s', (_name, pkg) => {
  const { json, dir, folder } = pkg;

  it('is MIT with the LICENSE file of the repository, and says where it lives', () => {
    expect(json.license).toBe('MIT');
    expect(existsSync(join(dir, 'LICENSE')), `${folder}/LICENSE`).toBe(true);
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toBe(rootLicense);
    expect(json.repository).toEqual({ ...rootJson.repository, directory: `packages/${folder}` });
    expect(json.homepage).toMatch(/^https:\/\//);
    expect(json.bugs?.url).toBe(rootJson.bugs?.url);
    expect(json.engines?.node, 'engines.node (the same as the workspace root)').toBe(rootJson.engines?.node);
  });

  it('every exports entry has types first and a default condition (import and require(esm))', () => {
    expect(pkg.entries.length).toBeGreaterThan(0);
    expect(pkg.entries).toContain('.');
    for (const entry of pkg.entries) {
      const conditions = Object.keys(json.exports?.[entry] as object);
      expect(conditions[0], `exports["${entry}"]`).toBe('types');
      expect(conditions.at(-1), `exports["${entry}"]`).toBe('default');
      const target = exportTarget(pkg, entry, 'default');
      expect(target, `exports["${entry}"].default`).toMatch(/^\.\/dist\/.+\.js$/);
      const source = join(dir, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
      expect(existsSync(source), `${source} (the source of exports["${entry}"])`).toBe(true);
    }
  });

  it('builds on prepack, and keeps build info out of the tarball', () => {
    expect(json.scripts?.prepack).toBeTruthy();
    expect(json.files).toContain('!dist/.tsbuildinfo');
  });

  it('depends on no dataset or heavy package: only @setgen/* (optional peers allowed)', () => {
    const extra = Object.keys(json.dependencies ?? {}).filter(
      (name) => !name.startsWith('@setgen/') && !(name in ALLOWED_DEPENDENCIES),
    );
    expect(extra, `${json.name}: dependencies outside @setgen/* (see ALLOWED_DEPENDENCIES)`).toEqual([]);
    for (const name of Object.keys(json.peerDependencies ?? {})) {
      if (name.startsWith('@tensorflow/')) continue;
      expect(json.peerDependenciesMeta?.[name]?.optional, `peer ${name} must be optional`).toBe(true);
    }
  });

  it('doc comments of exports point to no document the project lacks (API.md, REFERENCES.md…)', () => {
    const dangling: string[] = [];
    for (const file of sourceFiles(join(dir, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\/\s*(\S+)/g)) {
        if (comment[1] !== 'export') continue; // only what TypeDoc shows: comments on exports
        for (const [, doc] of comment[0].matchAll(/([\w.-]+\.md)\b/g)) {
          if (!existsSync(join(dir, doc)) && !existsSync(join(root, doc))) {
            const line = text.slice(0, comment.index).split('\n').length;
            dangling.push(`${relative(root, file)}:${line} mentions ${doc}`);
          }
        }
      }
    }
    expect(dangling).toEqual([]);
  });

  it('sideEffects covers every module that runs code on import, and every entry that reaches one', () => {
    const files = sourceFiles(join(dir, 'src'));
    const effectful = new Set(files.filter((file) => topLevelEffects(file).length > 0));
    for (const file of effectful) {
      const target = distPath(dir, file);
      expect(
        hasSideEffects(json, target),
        `${relative(root, file)} runs \`${topLevelEffects(file)[0]}\` on import: list "${target}" in ${folder}/package.json sideEffects, or bundlers drop it`,
      ).toBe(true);
    }
    // `import '@setgen/x'` keeps the registrations only if the entry itself is side-effectful
    for (const entry of pkg.entries) {
      const entryFile = join(
        dir,
        exportTarget(pkg, entry, 'default')
          .replace(/^\.\/dist\//, 'src/')
          .replace(/\.js$/, '.ts'),
      );
      const seen = new Set<string>();
      const stack = [entryFile];
      while (stack.length > 0) {
        const file = stack.pop() as string;
        if (seen.has(file) || !existsSync(file)) continue;
        seen.add(file);
        stack.push(...relativeImports(file));
      }
      const reached = [...seen].filter((file) => effectful.has(file));
      if (reached.length > 0) {
        expect(
          hasSideEffects(json, exportTarget(pkg, entry, 'default')),
          `exports["${entry}"] reaches ${relative(root, reached[0])} (side effects): list its file in sideEffects`,
        ).toBe(true);
      }
    }
  });
});

it('finds the five public packages and their subpath entries', () => {
  const names = publicPackages().map((pkg) => pkg.json.name);
  for (const name of ['@setgen/ops', '@setgen/layers', '@setgen/metrics', '@setgen/models', '@setgen/data']) {
    expect(names).toContain(name);
  }
  expect(names).not.toContain('@setgen/testkit');
  const release = readJson(join(import.meta.dirname, '..', 'package.json'));
  for (const name of names) {
    expect(
      release.devDependencies?.[name],
      `packages/release-check/package.json devDependencies: ${name}: workspace:*`,
    ).toBe('workspace:*');
  }
});

it('the sideEffects glob matcher follows the package.json rules', () => {
  expect(matchesGlob('./dist/index.js', './dist/index.js')).toBe(true);
  expect(matchesGlob('./dist/*.js', './dist/a.js')).toBe(true);
  expect(matchesGlob('./dist/*.js', './dist/sub/a.js')).toBe(false);
  expect(matchesGlob('./dist/**/*.js', './dist/sub/a.js')).toBe(true);
  expect(matchesGlob('*.css', './dist/style.css')).toBe(true);
  expect(matchesGlob('./dist/fspool.js', './dist/fspool.d.ts')).toBe(false);
});
