// Node-only: reading a whole file, with a `DataError` that says what is wrong with the path.
import { readFile } from 'node:fs/promises';
import { DataError } from '@setgen/ops';

/** What a failed read of `path` means, in words (`is a directory`, `file not found`, ...). */
function explain(path: string, error: unknown): DataError {
  const code = (error as NodeJS.ErrnoException)?.code;
  const reason =
    code === 'ENOENT'
      ? 'file not found'
      : code === 'EISDIR'
        ? 'is a directory, expected a file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'ENOTDIR'
            ? 'a parent of the path is not a directory'
            : `cannot be read (${(error as Error)?.message ?? String(error)})`;
  return new DataError(`${path}: ${reason}`);
}

/** The bytes of `path`, or a `DataError` naming the path and the reason. */
export async function readWholeFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw explain(path, error);
  }
}

/** The text of `path` (UTF-8), or a `DataError` naming the path and the reason. */
export async function readTextFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw explain(path, error);
  }
}
