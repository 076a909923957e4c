#!/usr/bin/env node
// Writes a demo world with the TypeScript generator (compile first: npx tsc -p .).
// usage: node tools/demo/generate.js <spec.json> <outDir> [split,split,...]
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..', '..');
const { generateWorld } = require(path.join(root, 'out', 'src', 'engine', 'demo', 'generator.js'));
const { parseWorldSpec } = require(path.join(root, 'out', 'src', 'engine', 'demo', 'spec.js'));

const [specPath, outDir, splits] = process.argv.slice(2);
if (!specPath || !outDir) {
  console.error('usage: node tools/demo/generate.js <spec.json> <outDir> [split,split,...]');
  process.exit(2);
}
const spec = parseWorldSpec(JSON.parse(fs.readFileSync(specPath, 'utf8')));
const started = Date.now();
generateWorld(spec, outDir, { splits: splits ? splits.split(',') : undefined }).then(
  (r) => console.log(JSON.stringify({ ...r, ms: Date.now() - started })),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
