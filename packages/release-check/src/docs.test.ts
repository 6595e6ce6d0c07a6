// `pnpm docs --check`: TypeDoc over every entry of every public package must report nothing
// (a public export without a doc comment, a broken {@link}, an unexported type in the API).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { root } from './public-packages.js';

it('TypeDoc documents every public export of every entry, without a warning', { timeout: 600_000 }, () => {
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'docs.mjs'), '--check'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    maxBuffer: 64 << 20,
  });
  const esc = String.fromCharCode(27);
  const output = `${run.stdout}${run.stderr}`.split(esc).join('');
  expect(output.split('\n').filter((line) => /warning|error/i.test(line))).toEqual([]);
  expect(run.status, output.slice(-3000)).toBe(0);
});
