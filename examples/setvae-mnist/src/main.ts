// Command-line entry of the example: `node dist/main.js --help`.
import { runSetVaeMnist } from './setvae-mnist.js';

runSetVaeMnist(process.argv.slice(2)).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
