// Command-line entry of the example: `node dist/main.js --help`.
import { runMoleculeGeneration } from './molecule-generation.js';

runMoleculeGeneration(process.argv.slice(2)).catch((error) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
