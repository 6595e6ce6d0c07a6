// Node entry: everything from the main entry, plus a file-system tf.io handler; importing
// it lets `model.save('dir')` and `SetVAE.load('dir')` (or `file://dir`) use the disk.
import { registerFileSystemRouters } from './runtime/file-system-handler.js';

export * from './index.js';
export {
  type DataParallel,
  type DataParallelOptions,
  dataParallel,
} from './runtime/data-parallel.js';
export { fileSystem, registerFileSystemRouters } from './runtime/file-system-handler.js';

registerFileSystemRouters();
