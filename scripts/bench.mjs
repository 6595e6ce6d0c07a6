#!/usr/bin/env node
// Runs each package's benchmarks (packages/*/bench/run.mjs, against the built dist) in
// turn and passes their JSON lines through. `pnpm bench [--only name-prefix ...]`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
let code = 0;
for (const name of readdirSync(join(root, 'packages')).sort()) {
  const script = join(root, 'packages', name, 'bench', 'run.mjs');
  if (!existsSync(script)) continue;
  const run = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' });
  if (run.status !== 0) code = run.status ?? 1;
}
process.exit(code);
