// Bundles the extension host, the worker, the CLI (Node, CommonJS) and the webview (browser).
// Native modules stay external: they ship in node_modules inside the VSIX.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const production = process.argv.includes('--production');
const nodeExternal = ['vscode', 'onnxruntime-node', 'sharp'];
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning' };

const targets = [
  {
    entryPoints: ['src/extension/main.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: nodeExternal,
  },
  {
    entryPoints: ['src/worker/main.ts'],
    outfile: 'dist/worker.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: nodeExternal,
  },
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternal },
  { entryPoints: ['webview/main.ts'], outfile: 'media/webview.js', platform: 'browser', format: 'iife', target: 'es2022' },
].filter((t) => existsSync(t.entryPoints[0]));

await Promise.all(targets.map((t) => esbuild.build({ ...common, ...t })));
