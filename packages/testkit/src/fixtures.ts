// Reads a fixture copied from ../shared/fixtures into a package's src/__fixtures__.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `loadFixture(import.meta.dirname, 'chamfer.json')` → the parsed JSON of src/__fixtures__/chamfer.json. */
export function loadFixture<T = any>(dir: string, file: string): T {
  let d = dir;
  for (let up = 0; up < 4; up++) {
    try {
      return JSON.parse(readFileSync(join(d, '__fixtures__', file), 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      d = join(d, '..');
    }
  }
  throw new Error(`fixture ${file} not found in a __fixtures__ folder above ${dir}`);
}
