#!/usr/bin/env node
// Builds the platform VSIX for linux-x64 with @vscode/vsce, offline.
//
//   node tools/package-vsix.mjs [--out file.vsix] [--no-build] [--keep-stage]
//
// Steps: production bundle (esbuild.mjs), a clean stage in a temp folder (the manifest with only the
// native runtime dependencies, dist/, media/, schemas/, README/LICENSE/CHANGELOG, and node_modules
// holding only onnxruntime-node and sharp with what they require, linux-x64 binaries only), a load
// check of both natives with Node from the stage, `vsce package --target linux-x64`, a size check
// (at most 60 MB), and the same load check again from the unpacked VSIX.
// The repository's node_modules is only read, never changed.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TARGET = { vsce: 'linux-x64', os: 'linux', arch: 'x64' };
const NATIVE_DEPS = ['onnxruntime-node', 'sharp'];
const MAX_BYTES = 60 * 1024 * 1024;
// Left out of the VSIX (the stage keeps them so the first load check sees the packages as installed;
// the second load check, from the unpacked VSIX, proves nothing needed was left out).
const VSCODEIGNORE = [
  '**/*.map',
  '**/*.d.ts',
  '**/*.d.cts',
  '**/*.d.mts',
  'node_modules/onnxruntime-common/dist/esm/**', // the extension requires CommonJS
  'node_modules/onnxruntime-common/lib/**', // TypeScript sources
  'node_modules/onnxruntime-node/script/**', // install-time download scripts
  'node_modules/sharp/dist/*.mjs',
  'node_modules/sharp/install/**',
];
// Top-level files and folders of the extension that go into the VSIX when they exist.
const CONTENT = [
  'dist',
  'media',
  'schemas',
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
  'LICENSE.md',
  'LICENSE.txt',
  'package.nls.json',
  'l10n',
];

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = resolve(option('--out') ?? join(root, `${manifest.name}-${manifest.version}-${TARGET.vsce}.vsix`));

function run(cmd, cmdArgs, opts = {}) {
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (${r.status ?? r.signal})`);
}

function dirSize(p) {
  const s = statSync(p);
  if (!s.isDirectory()) return s.size;
  return readdirSync(p).reduce((n, e) => n + dirSize(join(p, e)), 0);
}

const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** Where Node would find package `name` from package directory `fromDir` (inside root/node_modules). */
function findPackage(name, fromDir) {
  for (let d = fromDir; d.startsWith(root); d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (d === root) break;
  }
  return undefined;
}

/** The runtime closure of `names`: dependencies and the optional dependencies that are installed. */
function closure(names) {
  const found = new Map(); // abs dir -> package name
  const queue = names.map((n) => ({ name: n, from: root, optional: false }));
  while (queue.length) {
    const { name, from, optional } = queue.shift();
    const dir = findPackage(name, from);
    if (!dir) {
      if (optional) continue;
      throw new Error(`${name} (needed from ${relative(root, from) || '.'}) is not installed; run npm ci`);
    }
    if (found.has(dir)) continue;
    found.set(dir, name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir, optional: false });
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) queue.push({ name: dep, from: dir, optional: true });
  }
  return found;
}

/** Keeps only the target platform's binaries of onnxruntime-node (it ships all platforms). */
function pruneOnnxruntime(dir) {
  const binRoot = join(dir, 'bin');
  for (const napi of readdirSync(binRoot)) {
    for (const os of readdirSync(join(binRoot, napi))) {
      if (os !== TARGET.os) {
        rmSync(join(binRoot, napi, os), { recursive: true });
        continue;
      }
      for (const arch of readdirSync(join(binRoot, napi, os))) {
        if (arch !== TARGET.arch) rmSync(join(binRoot, napi, os, arch), { recursive: true });
      }
    }
  }
  // CUDA / TensorRT providers are separate shared libraries; the CPU provider is inside libonnxruntime.
  const libs = readdirSync(join(binRoot, readdirSync(binRoot)[0], TARGET.os, TARGET.arch));
  for (const lib of libs) {
    if (/providers_(cuda|tensorrt)/.test(lib)) rmSync(join(binRoot, readdirSync(binRoot)[0], TARGET.os, TARGET.arch, lib));
  }
  rmSync(join(dir, 'lib'), { recursive: true, force: true }); // TypeScript sources of dist/
}

/** Loads both natives with Node from `dir` and uses them once; throws when either fails. */
function checkNatives(dir, label) {
  const script = `
    const ort = require('onnxruntime-node');
    const sharp = require('sharp');
    const inside = (m) => require.resolve(m).startsWith(${JSON.stringify(dir)});
    if (!inside('onnxruntime-node') || !inside('sharp')) throw new Error('resolved outside the stage');
    const t = new ort.Tensor('float32', new Float32Array([1, 2, 3]), [3]);
    if (!ort.InferenceSession || t.size !== 3) throw new Error('onnxruntime-node unusable');
    sharp({ create: { width: 2, height: 2, channels: 3, background: '#ff0000' } }).png().toBuffer()
      .then((b) => console.log('  ${label}: onnxruntime-node ' + ort.env.versions.node + ', sharp ' + sharp.versions.sharp + ' (libvips ' + sharp.versions.vips + '), png ' + b.length + ' B'))
      .catch((e) => { console.error(e); process.exit(1); });`;
  const checkFile = join(dir, '.load-check.cjs');
  writeFileSync(checkFile, script);
  try {
    run(process.execPath, [checkFile], { cwd: dir, env: { ...process.env, NODE_PATH: '' } });
  } finally {
    rmSync(checkFile);
  }
}

// 1. Bundle.
if (!flag('--no-build')) run(process.execPath, ['esbuild.mjs', '--production'], { cwd: root });
if (!existsSync(join(root, manifest.main ?? 'dist/extension.js'))) throw new Error(`${manifest.main} is missing after the build`);

// 2. Stage.
const stage = mkdtempSync(join(tmpdir(), 'tldr-vsix-stage-'));
const unpacked = mkdtempSync(join(tmpdir(), 'tldr-vsix-unpacked-'));
try {
  for (const entry of CONTENT) {
    if (existsSync(join(root, entry)))
      cpSync(join(root, entry), join(stage, entry), { recursive: true, filter: (src) => !src.endsWith('.map') });
  }
  if (manifest.icon && existsSync(join(root, manifest.icon))) cpSync(join(root, manifest.icon), join(stage, manifest.icon));

  const staged = { ...manifest };
  delete staged.devDependencies;
  delete staged.scripts; // no vscode:prepublish: the bundle is already built
  delete staged.bin; // the npm CLI entry, not part of the extension
  staged.dependencies = Object.fromEntries(
    NATIVE_DEPS.map((d) => {
      if (!manifest.dependencies?.[d]) throw new Error(`${d} is not in package.json dependencies`);
      return [d, manifest.dependencies[d]];
    }),
  );
  writeFileSync(join(stage, 'package.json'), JSON.stringify(staged, null, 2) + '\n');

  for (const [dir] of closure(NATIVE_DEPS)) {
    const dest = join(stage, relative(root, dir));
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(dir, dest, { recursive: true, filter: (src) => !relative(dir, src).startsWith('node_modules') });
  }
  pruneOnnxruntime(join(stage, 'node_modules', 'onnxruntime-node'));
  rmSync(join(stage, 'node_modules', 'sharp', 'src'), { recursive: true, force: true }); // C++ sources
  console.log(`package-vsix: staged in ${stage} (node_modules ${mb(dirSize(join(stage, 'node_modules')))})`);
  checkNatives(stage, 'stage');

  // 3. Package. npm mode (not --no-dependencies, which would leave node_modules out): vsce takes the
  // packages `npm ls --production` finds in the stage, which holds nothing but the natives' closure.
  const require = createRequire(join(root, 'package.json'));
  const vsce = join(dirname(require.resolve('@vscode/vsce/package.json')), 'vsce');
  const vsceArgs = ['package', '--target', TARGET.vsce, '--out', out];
  if (!manifest.repository) vsceArgs.push('--allow-missing-repository', '--no-rewrite-relative-links');
  if (!['LICENSE', 'LICENSE.md', 'LICENSE.txt'].some((f) => existsSync(join(stage, f)))) vsceArgs.push('--skip-license');
  if (!existsSync(join(stage, 'README.md'))) {
    writeFileSync(join(stage, 'README.md'), `# ${manifest.displayName ?? manifest.name}\n\n${manifest.description ?? ''}\n`);
    console.warn('package-vsix: README.md is missing in the repository; packaged a generated one');
  }
  writeFileSync(join(stage, '.vscodeignore'), VSCODEIGNORE.join('\n') + '\n');
  rmSync(out, { force: true });
  run(process.execPath, [vsce, ...vsceArgs], { cwd: stage });

  // 4. Size and a load check from the unpacked VSIX.
  const size = statSync(out).size;
  run('unzip', ['-q', out, '-d', unpacked]);
  checkNatives(join(unpacked, 'extension'), 'vsix');
  console.log(`package-vsix: ${relative(process.cwd(), out) || out} ${mb(size)} (${size} bytes; unpacked ${mb(dirSize(unpacked))})`);
  if (size > MAX_BYTES) throw new Error(`the VSIX is ${mb(size)}, over the ${mb(MAX_BYTES)} limit`);
} finally {
  if (flag('--keep-stage')) console.log(`package-vsix: stage kept in ${stage}`);
  else rmSync(stage, { recursive: true, force: true });
  rmSync(unpacked, { recursive: true, force: true });
}
