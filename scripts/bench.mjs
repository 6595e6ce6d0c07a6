#!/usr/bin/env node
// Runs every benchmark script (packages/*/bench/*.bench.mjs, against the built dist), each
// in its own process, and passes their JSON lines through.
// `pnpm bench [--only name-prefix ...] [--backends cpu,wasm]`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
let code = 0;
for (const name of readdirSync(join(root, 'packages')).sort()) {
  const dir = join(root, 'packages', name, 'bench');
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.bench.mjs'))
    .sort()) {
    const run = spawnSync(process.execPath, [join(dir, file), ...args], { stdio: 'inherit' });
    if (run.status !== 0) code = run.status ?? 1;
  }
}
process.exit(code);
