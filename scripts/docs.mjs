#!/usr/bin/env node
// API documentation of every public package with TypeDoc, one site per package under
// docs/api/<folder>/ (index: docs/api/index.html), from every entry of its `exports` map.
//   pnpm docs            write the HTML
//   pnpm docs --check    write nothing; fail (exit 1) on any TypeDoc warning: a public export
//                        without a doc comment, a broken {@link}, a README link TypeDoc cannot follow
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Application, Converter, LogLevel, ReflectionKind } from 'typedoc';

const root = join(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));

/** Every public package (packages/* not private) and its module entries from `exports`. */
function publicPackages() {
  return readdirSync(join(root, 'packages'))
    .sort()
    .map((folder) => ({ folder, dir: join(root, 'packages', folder) }))
    .filter(({ dir }) => existsSync(join(dir, 'package.json')))
    .map((pkg) => ({ ...pkg, json: JSON.parse(readFileSync(join(pkg.dir, 'package.json'), 'utf8')) }))
    .filter(({ json }) => json.private !== true)
    .filter(({ folder, json }) => only.length === 0 || only.includes(folder) || only.includes(json.name));
}

/** `exports` entry → its TypeScript source, e.g. './node' → src/node.ts. */
function entrySources(pkg) {
  return Object.entries(pkg.json.exports ?? {})
    .filter(([key]) => !key.endsWith('.json'))
    .map(([key, value]) => {
      const target = typeof value === 'string' ? value : (value.default ?? value.import);
      const source = join(pkg.dir, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
      const name = key === '.' ? pkg.json.name : `${pkg.json.name}/${key.slice(2)}`;
      return { key, name, source };
    });
}

let problems = 0;
const sites = [];
for (const pkg of publicPackages()) {
  const entries = entrySources(pkg);
  const app = await Application.bootstrapWithPlugins({
    name: pkg.json.name,
    entryPoints: entries.map((e) => e.source),
    entryPointStrategy: 'resolve',
    tsconfig: join(pkg.dir, 'tsconfig.json'),
    readme: join(pkg.dir, 'README.md'),
    out: join(root, 'docs', 'api', pkg.folder),
    excludePrivate: true,
    excludeProtected: false,
    excludeInternal: true,
    excludeExternals: true,
    skipErrorChecking: true,
    logLevel: LogLevel.Warn,
    // notExported is off: it reports tfjs-layers' own types (Shape, Kwargs) that we use but do not re-export
    validation: { notExported: false, invalidLink: true, notDocumented: true, rewrittenLink: true },
    // every export a user imports: functions, classes, interfaces, types, constants
    requiredToBeDocumented: ['Class', 'Function', 'Interface', 'TypeAlias', 'Variable', 'Enum'],
    sourceLinkExternal: false,
    disableGit: true,
    sourceLinkTemplate: `${pkg.json.repository?.url?.replace(/^git\+/, '').replace(/\.git$/, '')}/blob/main/{path}#L{line}`,
  });
  // module names are the import specifiers ('@setgen/ops/node'), not file names
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.getReflectionsByKind(ReflectionKind.Module)) {
      const entry = entries.find((e) => e.source.endsWith(`/${module.name}.ts`) || module.name === e.source);
      if (entry) module.name = entry.name;
    }
  });
  const project = await app.convert();
  if (!project) {
    console.error(`${pkg.json.name}: TypeDoc could not convert the project`);
    problems += 1;
    continue;
  }
  app.validate(project);
  problems += app.logger.warningCount + app.logger.errorCount;
  if (!check) {
    await app.generateDocs(project, join(root, 'docs', 'api', pkg.folder));
    sites.push(pkg);
  }
}

if (!check && sites.length > 0) {
  mkdirSync(join(root, 'docs', 'api'), { recursive: true });
  const items = sites.map(
    (p) => `<li><a href="${p.folder}/index.html">${p.json.name}</a> — ${p.json.description}</li>`,
  );
  writeFileSync(
    join(root, 'docs', 'api', 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>@setgen API</title><h1>@setgen API</h1><ul>${items.join('')}</ul>\n`,
  );
  console.log(`API docs: ${join('docs', 'api', 'index.html')}`);
}
if (problems > 0) {
  console.error(`${problems} documentation problem(s)`);
  process.exit(1);
}
