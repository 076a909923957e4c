#!/usr/bin/env node
// Packages the extension with `vsce package --target <target>` from the repository itself, one
// platform VSIX per VS Code target, with nothing but the npm registry.
//
//   node tools/package-vsix.mjs                       # this machine's target  (npm run package)
//   node tools/package-vsix.mjs --all                 # all six targets        (npm run package -- --all)
//   node tools/package-vsix.mjs --target darwin-arm64 [--target …] [--out file.vsix] [--no-build] [--jobs n]
//
// One production bundle (esbuild.mjs) serves every target, packaged up to --jobs at a time. What
// goes in is .vscodeignore (a whitelist) plus two lines per target that admit that platform's
// onnxruntime-node binaries and sharp packages; vsce gets both through --ignoreFile.
// onnxruntime-node carries the binaries of most platforms itself. sharp's packages of the other
// platforms (and onnxruntime-node's last darwin-x64 build, see ORT_FALLBACK) are installed by name
// from the npm registry with npm's --os/--cpu/--libc into .vsix-cache/<target>/ (kept: the next
// build needs no network), and linked into node_modules while vsce runs. The links are removed
// afterwards (also on Ctrl-C; a run that was killed is cleaned up by the next), so node_modules
// ends as it was. VSIXes go to vsix/<name>-<target>-<version>.vsix; test/package/vsix.test.mjs
// checks them.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MAX_VSIX_BYTES, ORT_FALLBACK, TARGETS, cacheDir, ortLibraryOf, splitTarget, vsixPath } from './vsix-targets.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nodeModules = join(root, 'node_modules');
const cacheRoot = dirname(cacheDir(root, TARGETS[0]));
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// onnxruntime.dll loads DirectML.dll for the `dml` execution provider the settings offer.
const ORT_EXTRA = { win32: ['DirectML.dll'] };

const { values: args } = parseArgs({
  options: {
    all: { type: 'boolean' },
    target: { type: 'string', multiple: true },
    out: { type: 'string' },
    'no-build': { type: 'boolean' },
    jobs: { type: 'string', default: String(Math.min(3, availableParallelism())) },
  },
});
const hostTarget = `${process.platform}-${process.arch}`;
const targets = args.all ? TARGETS : (args.target ?? [hostTarget]);
for (const t of targets)
  if (!TARGETS.includes(t)) throw new Error(`no VSIX target "${t}"; the targets are ${TARGETS.join(', ')} (--target)`);
if (args.out && targets.length !== 1) throw new Error('--out names one VSIX; give one --target with it');
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const installed = (dir) =>
  existsSync(join(dir, 'package.json')) ? JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version : undefined;

function run(cmd, cmdArgs, opts = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0 ? resolvePromise(output) : reject(new Error(`${cmd} ${cmdArgs.join(' ')} failed (${code ?? signal}):\n${output}`)),
    );
  });
}

/** npm as this process was started by it (`npm run package`), else the one on PATH. */
const npm = process.env.npm_execpath?.endsWith('.js') ? [process.execPath, process.env.npm_execpath] : ['npm'];
const runNpm = (npmArgs, opts) =>
  run(npm[0], [...npm.slice(1), ...npmArgs], { shell: npm.length === 1 && process.platform === 'win32', ...opts });

const links = [];
/** Links `target` (a folder in the cache) at `path`; a junction on Windows needs no privileges. */
function link(target, path) {
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path, 'junction');
  links.push(path);
}
/** Removes the links of this run, and any a killed run left in node_modules (symlinks into the cache). */
function unlinkAll() {
  const dirs = [join(nodeModules, '@img'), ...globDirs(join(nodeModules, 'onnxruntime-node', 'bin'), 2)];
  const stale = dirs.flatMap((d) => (existsSync(d) ? readdirSync(d).map((e) => join(d, e)) : [])).filter((p) => intoCache(p));
  for (const p of new Set([...links, ...stale])) rmSync(p, { force: true });
  links.length = 0;
}
function intoCache(p) {
  if (!lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) return false;
  try {
    return realpathSync(p).startsWith(realpathSync(cacheRoot));
  } catch {
    return true; // a dangling link: its cache folder was deleted
  }
}
/** One packaging run at a time: a second would remove the first one's links. */
function lock() {
  const file = join(cacheRoot, '.lock');
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
    const pid = Number(readFileSync(file, 'utf8'));
    if (isAlive(pid)) {
      const why = `another packaging run (pid ${pid}) is using node_modules; wait for it, or delete ${file} if it is gone`;
      throw new Error(why, { cause: e });
    }
    writeFileSync(file, String(process.pid));
  }
  return () => rmSync(file, { force: true });
}
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}
/** The folders `depth` levels below `dir`. */
function globDirs(dir, depth) {
  if (!existsSync(dir)) return [];
  const children = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name));
  return depth === 1 ? children : children.flatMap((c) => globDirs(c, depth - 1));
}

/** Installs `deps` ({ name: version }) for `target` into its cache folder unless they are there. */
async function fetchForTarget(target, deps) {
  const dir = cacheDir(root, target);
  // Optional, as sharp declares them: npm installs an optional package when it fits --os/--cpu/--libc
  // (and refuses a required one that does not fit this machine).
  const pkg = JSON.stringify({ private: true, optionalDependencies: deps }, null, 2) + '\n';
  const complete = () => Object.entries(deps).every(([name, v]) => installed(join(dir, 'node_modules', name)) === v);
  if (complete() && existsSync(join(dir, 'package.json')) && readFileSync(join(dir, 'package.json'), 'utf8') === pkg) return dir;
  const { os, arch } = splitTarget(target);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), pkg);
  const platform = [`--os=${os}`, `--cpu=${arch}`, ...(os === 'linux' ? ['--libc=glibc'] : [])];
  const started = Date.now();
  await runNpm(
    ['install', '--prefix', dir, ...platform, '--ignore-scripts', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error'],
    {
      cwd: dir,
    },
  );
  if (!complete()) throw new Error(`npm did not install ${JSON.stringify(deps)} for ${target} into ${dir}`);
  if (deps['onnxruntime-node']) pruneOrt(join(dir, 'node_modules'), target);
  console.log(`package-vsix: ${target}: fetched ${Object.keys(deps).join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return dir;
}

/**
 * Keeps of an onnxruntime-node fetched for `target` its manifest and the binaries of `target` and of
 * this machine (for the test's pairing check): the rest (all its dependencies, the other platforms,
 * ~250 MB) would only slow down vsce, which reads every file under the repository.
 */
function pruneOrt(modules, target) {
  const keep = new Set([target, hostTarget]);
  for (const name of readdirSync(modules))
    if (name !== 'onnxruntime-node' && name !== '@img') rmSync(join(modules, name), { recursive: true });
  const ort = join(modules, 'onnxruntime-node');
  for (const name of readdirSync(ort)) if (name !== 'package.json' && name !== 'bin') rmSync(join(ort, name), { recursive: true });
  for (const osDir of globDirs(join(ort, 'bin'), 2)) {
    for (const arch of readdirSync(osDir)) {
      if (!keep.has(`${basename(osDir)}-${arch}`)) rmSync(join(osDir, arch), { recursive: true });
    }
  }
}

/** Puts the target's native files in node_modules (links into the cache where missing); returns its ignore-file lines. */
async function prepareTarget(target) {
  const { os, arch } = splitTarget(target);
  const ort = join(nodeModules, 'onnxruntime-node');
  const [napi, ...more] = readdirSync(join(ort, 'bin'));
  if (more.length) throw new Error(`onnxruntime-node has several binding folders (${[napi, ...more].join(', ')}); expected one`);
  const ortDir = join(ort, 'bin', napi, os, arch);
  const sharpVersion = JSON.parse(readFileSync(join(nodeModules, 'sharp', 'package.json'), 'utf8')).optionalDependencies?.[
    `@img/sharp-${os}-${arch}`
  ];
  if (!sharpVersion) throw new Error(`sharp has no prebuilt package for ${target}`);

  const deps = {};
  if (installed(join(nodeModules, '@img', `sharp-${os}-${arch}`)) !== sharpVersion) deps[`@img/sharp-${os}-${arch}`] = sharpVersion;
  if (!existsSync(join(ortDir, 'onnxruntime_binding.node'))) {
    if (!ORT_FALLBACK[target]) throw new Error(`onnxruntime-node ${installed(ort)} has no ${os}/${arch} binaries (${ortDir})`);
    deps['onnxruntime-node'] = ORT_FALLBACK[target];
  }
  if (Object.keys(deps).length) {
    const cache = join(await fetchForTarget(target, deps), 'node_modules');
    if (deps['onnxruntime-node']) link(join(cache, 'onnxruntime-node', 'bin', napi, os, arch), ortDir);
    if (deps[`@img/sharp-${os}-${arch}`]) {
      for (const name of readdirSync(join(cache, '@img')).filter((n) => n.startsWith('sharp-')))
        link(join(cache, '@img', name), join(nodeModules, '@img', name));
    }
  }
  const ortFiles = [
    'onnxruntime_binding.node',
    ortLibraryOf(readFileSync(join(ortDir, 'onnxruntime_binding.node'))),
    ...(ORT_EXTRA[os] ?? []),
  ];
  return [
    `# ${target}: added by tools/package-vsix.mjs`,
    `!node_modules/onnxruntime-node/bin/${napi}/${os}/${arch}/{${ortFiles.join(',')}}`,
    `!node_modules/@img/sharp-{,libvips-}${os}-${arch}/{LICENSE,*.*,lib/*.{node,so.*,dylib,dll}}`,
  ];
}

async function packageTarget(target, lines, vsce) {
  const ignoreFile = join(cacheRoot, `${target}.vscodeignore`);
  writeFileSync(ignoreFile, readFileSync(join(root, '.vscodeignore'), 'utf8') + '\n' + lines.join('\n') + '\n');
  const out = resolve(args.out ?? vsixPath(root, manifest, target));
  mkdirSync(dirname(out), { recursive: true });
  const vsceArgs = ['package', '--target', target, '--ignoreFile', ignoreFile, '--follow-symlinks', '--no-yarn', '--out', out];
  if (!manifest.repository) vsceArgs.push('--allow-missing-repository', '--no-rewrite-relative-links');
  const started = Date.now();
  await run(process.execPath, [vsce, ...vsceArgs], { cwd: root });
  const size = statSync(out).size;
  console.log(
    `package-vsix: ${target.padEnd(12)} ${mb(size).padStart(8)}  ${relative(process.cwd(), out)}  (${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
  if (size > MAX_VSIX_BYTES) throw new Error(`${out} is ${mb(size)}, over the ${mb(MAX_VSIX_BYTES)} limit`);
}

/** Runs `task` over `items`, `n` at a time; rejects with the first failure after all have ended. */
async function pool(items, n, task) {
  const queue = [...items];
  const errors = [];
  const worker = async () => {
    while (queue.length) await task(queue.shift()).catch((e) => errors.push(e));
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (errors.length) throw errors[0];
}

const started = Date.now();
mkdirSync(cacheRoot, { recursive: true });
const unlock = lock();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    unlinkAll();
    unlock();
    process.exit(130);
  });
}
try {
  if (!args['no-build']) {
    const r = spawnSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('the production bundle failed (node esbuild.mjs --production)');
  }
  if (!existsSync(join(root, manifest.main))) throw new Error(`${manifest.main} is missing; run node esbuild.mjs --production`);
  const vsce = join(dirname(fileURLToPath(import.meta.resolve('@vscode/vsce/package.json'))), 'vsce');
  unlinkAll();
  const lines = new Map();
  await pool(targets, targets.length, async (t) => lines.set(t, await prepareTarget(t)));
  await pool(targets, Number(args.jobs), (t) => packageTarget(t, lines.get(t), vsce));
} finally {
  unlinkAll();
  unlock();
}
console.log(`package-vsix: ${targets.length} VSIX(es) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
