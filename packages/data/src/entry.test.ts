import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

/** Relative modules reachable from `file` through static imports/exports. */
function reachable(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(import.meta.dirname, file), 'utf8');
  for (const [, spec] of text.matchAll(/(?:import|export)[^'"]*from\s+'([^']+)'/g)) {
    if (spec.startsWith('./')) reachable(`${spec.slice(2).replace(/\.js$/, '.ts')}`, seen);
    else seen.add(spec);
  }
  return seen;
}

it('the main entry is browser-safe: no node: imports, no Node-only modules', () => {
  const modules = [...reachable('index.ts')];
  expect(modules.filter((m) => m.startsWith('node:'))).toEqual([]);
  expect(modules).not.toContain('node.ts');
  expect(modules).not.toContain('point-clouds.ts');
  expect(modules.filter((m) => !m.endsWith('.ts')).sort()).toEqual([
    '@setgen/ops',
    '@setgen/ops/internal',
    '@tensorflow/tfjs-core',
  ]);
});
