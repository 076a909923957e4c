#!/usr/bin/env node
// The published entry point: the esbuild bundle of src/cli/main.ts.
require('../dist/cli.js').cliEntry();
