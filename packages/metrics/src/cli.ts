#!/usr/bin/env node
// The `setgen-eval` executable (see eval-cli.ts).
import { runEvalCli } from './eval-cli.js';

process.exitCode = await runEvalCli(process.argv.slice(2));
