#!/usr/bin/env node
// Runs every benchmark script (packages/*/bench/*.bench.mjs and examples/*/bench/*.bench.mjs,
// against the built dist), each in its own process, and passes their JSON lines through.
//   pnpm bench [--only name-prefix ...] [--backends cpu,wasm] [--peer]
// With --peer it then runs the PyTorch/SciPy peer (../shared/peer/peer_bench.py, or the path
// in SETGEN_PEER_BENCH, with /usr/bin/python3 or SETGEN_PEER_PYTHON) on the groups whose
// benchmark names it shares with ours, and prints one line per shared name:
//   {"name":"ratio:<name>","ours_ms","peer_ms","ratio","backend"}   (ratio = ours / peer)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const withPeer = process.argv.includes('--peer');
const args = process.argv.slice(2).filter((a) => a !== '--peer');
const ours = [];
let code = 0;

/** The JSON objects among `text`'s lines. */
function jsonLines(text) {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line)];
      } catch {
        return [];
      }
    });
}

for (const name of ['packages', 'examples'].flatMap((top) =>
  readdirSync(join(root, top))
    .sort()
    .map((n) => join(top, n)),
)) {
  const dir = join(root, name, 'bench');
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.bench.mjs'))
    .sort()) {
    const run = spawnSync(process.execPath, [join(dir, file), ...args], {
      stdio: ['inherit', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    process.stdout.write(run.stdout ?? '');
    ours.push(...jsonLines(run.stdout ?? ''));
    if (run.status !== 0) code = run.status ?? 1;
  }
}

if (withPeer) {
  const script = process.env.SETGEN_PEER_BENCH ?? join(root, '..', 'shared', 'peer', 'peer_bench.py');
  const python = process.env.SETGEN_PEER_PYTHON ?? '/usr/bin/python3';
  const groups = ['chamfer', 'hungarian', 'emd', 'metrics', 'setvae', 'mab'].filter((g) =>
    ours.some((line) => line.name.startsWith(`${g}_`)),
  );
  if (!existsSync(script)) {
    console.error(`--peer: ${script} not found (set SETGEN_PEER_BENCH)`);
    code = code || 1;
  } else if (groups.length > 0) {
    const run = spawnSync(python, [script, '--only', ...groups], {
      stdio: ['inherit', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    if (run.status !== 0) code = code || (run.status ?? 1);
    const peer = new Map(jsonLines(run.stdout ?? '').map((line) => [line.bench, line.median_ms]));
    for (const line of ours) {
      const peerMs = peer.get(line.name);
      if (peerMs === undefined) continue;
      const ratio = Math.round((line.median_ms / peerMs) * 1000) / 1000;
      console.log(
        JSON.stringify({
          name: `ratio:${line.name}`,
          ours_ms: line.median_ms,
          peer_ms: peerMs,
          ratio,
          backend: line.backend,
        }),
      );
    }
  }
}
process.exit(code);
