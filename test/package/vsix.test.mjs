// Opens the VSIX of every target (built by `npm run package -- --all`, which `npm run test:package`
// runs first) and checks what a user of that platform installs: the manifest's target, the native
// files of that platform and of no other (read from their ELF / Mach-O / PE headers), no file of the
// repository's tests, tools or sources, and the size limit. The VSIX of this machine is unpacked and
// its natives are loaded and used; the darwin-x64 onnxruntime pairing is run with its Linux twin.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import yauzl from 'yauzl';
import { MAX_VSIX_BYTES, ORT_FALLBACK, TARGETS, cacheDir, ortLibraryOf, splitTarget, vsixPath } from '../../tools/vsix-targets.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const sharpVersion = JSON.parse(readFileSync(join(root, 'node_modules/sharp/package.json'), 'utf8')).version;
const hostTarget = `${process.platform}-${process.arch}`;
const HEAD = 4096; // bytes read of every entry: enough for an ELF, Mach-O or PE header

/** The entries of a zip: name -> { size, head } (the first HEAD bytes), and `whole` of the names `full` picks. */
function readZip(file, full = () => false) {
  return new Promise((done, fail) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return fail(err);
      const entries = new Map();
      zip.on('error', fail);
      zip.on('end', () => done(entries));
      zip.on('entry', (entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e) return fail(e);
          const chunks = [];
          let length = 0;
          const keepAll = full(entry.fileName);
          stream.on('data', (c) => {
            chunks.push(c);
            length += c.length;
            if (!keepAll && length >= HEAD) stream.destroy();
          });
          const finish = () => {
            const data = Buffer.concat(chunks);
            entries.set(entry.fileName, { size: entry.uncompressedSize, head: data.subarray(0, HEAD), whole: keepAll ? data : undefined });
            zip.readEntry();
          };
          stream.on('end', finish);
          stream.on('close', () => !entries.has(entry.fileName) && finish());
          stream.on('error', fail);
        });
      });
      zip.readEntry();
    });
  });
}

/** Writes the files of a zip under `prefix` (e.g. 'extension/') into `dir`. */
function unzipTo(file, prefix, dir) {
  return new Promise((done, fail) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return fail(err);
      zip.on('error', fail);
      zip.on('end', done);
      zip.on('entry', (entry) => {
        if (!entry.fileName.startsWith(prefix) || entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e) return fail(e);
          const chunks = [];
          stream.on('data', (c) => chunks.push(c));
          stream.on('error', fail);
          stream.on('end', () => {
            const dest = join(dir, entry.fileName.slice(prefix.length));
            mkdirSync(dirname(dest), { recursive: true });
            writeFileSync(dest, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

const MACHO_CPU = { 0x01000007: 'x64', 0x0100000c: 'arm64' };
const ELF_MACHINE = { 62: 'x64', 183: 'arm64' };
const PE_MACHINE = { 0x8664: 'x64', 0xaa64: 'arm64' };

/** The platform a native binary was built for, from its header; undefined for anything else. */
function binaryPlatform(b) {
  if (b.length >= 20 && b.readUInt32BE(0) === 0x7f454c46)
    return `linux-${ELF_MACHINE[b.readUInt16LE(18)] ?? `machine ${b.readUInt16LE(18)}`}`;
  if (b.length >= 8 && b.readUInt32LE(0) === 0xfeedfacf) return `darwin-${MACHO_CPU[b.readUInt32LE(4)] ?? `cpu ${b.readUInt32LE(4)}`}`;
  if (b.length >= 8 && b.readUInt32BE(0) === 0xcafebabe) {
    const cpus = Array.from({ length: b.readUInt32BE(4) }, (_, i) => MACHO_CPU[b.readUInt32BE(8 + 20 * i)] ?? 'other');
    return `darwin-${cpus.join('+')}`; // a universal binary: more than one platform
  }
  if (b.length >= 0x40 && b.toString('latin1', 0, 2) === 'MZ') {
    const pe = b.readUInt32LE(0x3c);
    if (pe + 6 <= b.length && b.toString('latin1', pe, pe + 4) === 'PE\0\0') {
      return `win32-${PE_MACHINE[b.readUInt16LE(pe + 4)] ?? `machine ${b.readUInt16LE(pe + 4)}`}`;
    }
  }
  return undefined;
}

/** The native files a VSIX for `target` must hold, as paths under extension/node_modules/ (regexes). */
function expectedNatives(target, ortLibrary) {
  const { os, arch } = splitTarget(target);
  const ort = `onnxruntime-node/bin/napi-v6/${os}/${arch}`;
  const sharp = `@img/sharp-${os}-${arch}/lib/sharp-${target}-${sharpVersion}.node`;
  const esc = (s) => s.replace(/[.+]/g, '\\$&');
  const libvips = {
    linux: [`@img/sharp-libvips-${target}/lib/libvips-cpp\\.so\\.[\\d.]+`],
    darwin: [`@img/sharp-libvips-${target}/lib/libvips-cpp\\.[\\d.]+\\.dylib`],
    win32: [`@img/sharp-${target}/lib/libvips-42\\.dll`, `@img/sharp-${target}/lib/libvips-cpp-[\\d.]+\\.dll`],
  }[os];
  const ortLibraries = { linux: /^libonnxruntime\.so\.\d+$/, darwin: /^libonnxruntime\.[\d.]+dylib$/, win32: /^onnxruntime\.dll$/ }[os];
  assert.match(ortLibrary, ortLibraries, `${target}: the binding links ${ortLibrary}, not ${os}'s onnxruntime library`);
  const ortFiles = ['onnxruntime_binding.node', ortLibrary, ...(os === 'win32' ? ['DirectML.dll'] : [])];
  return [...ortFiles.map((f) => esc(`${ort}/${f}`)), esc(sharp), ...libvips].map((p) => new RegExp(`^extension/node_modules/${p}$`));
}

const built = new Map(); // target -> entries, shared by the tests below
for (const target of TARGETS) {
  test(`${target}: the VSIX has its target, its platform's natives only, no repository sources, and fits`, async (t) => {
    const file = vsixPath(root, manifest, target);
    assert.ok(existsSync(file), `${file} is missing: run npm run package -- --all (npm run test:package does)`);
    const { os, arch } = splitTarget(target);
    const ortDir = `extension/node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}/`;
    const entries = await readZip(file, (name) => name === `${ortDir}onnxruntime_binding.node` || name === 'extension.vsixmanifest');
    built.set(target, entries);
    const names = [...entries.keys()];

    const vsixManifest = entries.get('extension.vsixmanifest').whole.toString('utf8');
    assert.match(vsixManifest, new RegExp(`<Identity [^>]*TargetPlatform="${target}"`));
    assert.match(vsixManifest, new RegExp(`<Identity [^>]*Id="${manifest.name}"[^>]*Version="${manifest.version}"`));

    // The extension itself.
    for (const f of [
      'package.json',
      'dist/extension.js',
      'dist/worker.js',
      'media/webview.js',
      'schemas/experiment.schema.json',
      'media/demo/birds/classifier.onnx',
    ]) {
      assert.ok(entries.has(`extension/${f}`), `${target}: extension/${f} is missing`);
    }

    // Natives: exactly the expected files, each built for this platform.
    const binding = entries.get(`${ortDir}onnxruntime_binding.node`);
    assert.ok(binding, `${target}: ${ortDir}onnxruntime_binding.node is missing`);
    const ortLibrary = ortLibraryOf(binding.whole);
    const expected = expectedNatives(target, ortLibrary);
    const natives = names.filter(
      (n) => binaryPlatform(entries.get(n).head) !== undefined || /\.(node|dll|dylib|so)$|\.so\.[\d.]+$/.test(n),
    );
    for (const n of natives) assert.equal(binaryPlatform(entries.get(n).head), target, `${n} is not a ${target} binary`);
    for (const pattern of expected)
      assert.equal(natives.filter((n) => pattern.test(n)).length, 1, `${target}: expected one native file matching ${pattern}`);
    assert.deepEqual(
      natives.filter((n) => !expected.some((p) => p.test(n))),
      [],
      `${target}: native files beyond onnxruntime and sharp/libvips of ${target}`,
    );

    // Packages: the two natives and what they require at run time, nothing the bundle already holds.
    const packages = new Set(names.flatMap((n) => n.match(/^extension\/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1] ?? []));
    const platformPackages = [`@img/sharp-${target}`, ...(os === 'win32' ? [] : [`@img/sharp-libvips-${target}`])];
    assert.deepEqual(
      [...packages].sort(),
      ['@img/colour', ...platformPackages, 'detect-libc', 'onnxruntime-common', 'onnxruntime-node', 'semver', 'sharp'].sort(),
    );

    // Nothing of the repository's tests, tools, sources or configuration.
    const repoOnly = names.filter(
      (n) =>
        /^extension\/(src|test|tools|bench|webview|bin|out|docs|vsix|\.ci)\//.test(n) ||
        /\.(ts|mts|cts|map|cc|cpp|c|h|py)$/.test(n) ||
        /^extension\/(tsconfig\.json|esbuild\.mjs|eslint\.config\.mjs|package-lock\.json|\.vscodeignore|\.npmrc|\.gitignore|\.prettierrc\.json)$/.test(
          n,
        ),
    );
    assert.deepEqual(repoOnly, [], `${target}: files that belong to the repository, not the extension`);

    const size = statSync(file).size;
    assert.ok(size <= MAX_VSIX_BYTES, `${target}: ${(size / 2 ** 20).toFixed(1)} MB is over ${MAX_VSIX_BYTES / 2 ** 20} MB`);
    t.diagnostic(
      `${target}: ${(size / 2 ** 20).toFixed(1)} MB, ${names.length} files; natives: ${natives.map((n) => n.replace('extension/node_modules/', '')).join(', ')}`,
    );
  });
}

/** Runs the demo classifier and a sharp resize with the natives that `require` finds from `base`. */
function useNatives(base) {
  const dir = mkdtempSync(join(tmpdir(), 'tldr-use-natives-'));
  const script = join(dir, 'use-natives.cjs');
  writeFileSync(
    script,
    `const [model, base] = process.argv.slice(2);
    const require_ = require('node:module').createRequire(base + '/');
    const ort = require_('onnxruntime-node');
    const sharp = require_('sharp');
    for (const m of ['onnxruntime-node', 'sharp']) if (!require_.resolve(m).startsWith(base)) throw new Error(m + ' resolved outside ' + base);
    (async () => {
      const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
      const [input] = session.inputMetadata;
      const shape = input.shape.map((d) => (typeof d === 'number' ? d : 1));
      const x = new ort.Tensor('float32', Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, (_, i) => Math.sin(i)), shape);
      const out = Object.values(await session.run({ [input.name]: x }))[0];
      const image = sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 200, g: 40, b: 90 } } })
        .composite([{ input: Buffer.alloc(8 * 6 * 3, 255), raw: { width: 8, height: 6, channels: 3 }, left: 4, top: 3 }]);
      const { data, info } = await sharp(await image.png().toBuffer()).resize(7, 5).raw().toBuffer({ resolveWithObject: true });
      console.log(JSON.stringify({ logits: Array.from(out.data), dims: out.dims, pixels: Array.from(data), width: info.width, height: info.height, channels: info.channels }));
    })().catch((e) => { console.error(e); process.exit(1); });`,
  );
  try {
    const model = join(root, 'media/demo/birds/classifier.onnx');
    return JSON.parse(execFileSync(process.execPath, [script, model, base], { encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(
  `${hostTarget}: the natives of this machine's VSIX load and compute what the repository's do`,
  { skip: !TARGETS.includes(hostTarget) && `no VSIX for ${hostTarget}` },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tldr-vsix-unpacked-'));
    try {
      await unzipTo(vsixPath(root, manifest, hostTarget), 'extension/', dir);
      const packaged = useNatives(dir);
      const reference = useNatives(root);
      assert.deepEqual(packaged.dims, [1, 2]);
      assert.deepEqual(packaged.logits, reference.logits);
      assert.deepEqual([packaged.width, packaged.height], [7, 5]);
      assert.equal(packaged.pixels.length, 7 * 5 * packaged.channels);
      assert.deepEqual(packaged.pixels, reference.pixels);
      // The resize blended the white square into the background: some red values lie strictly between.
      assert.ok(packaged.pixels.some((v, i) => i % packaged.channels === 0 && v > 200 && v < 255));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

const fallback = ORT_FALLBACK['darwin-x64'];
const twin = join(cacheDir(root, 'darwin-x64'), 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
test(
  `darwin-x64: onnxruntime-node's JavaScript runs the ${fallback} binding it ships (run with ${fallback}'s linux-x64 build)`,
  { skip: (hostTarget !== 'linux-x64' || !existsSync(twin)) && `needs linux-x64 and ${twin} (npm run package -- --target darwin-x64)` },
  async () => {
    const entries = built.get('darwin-x64') ?? (await readZip(vsixPath(root, manifest, 'darwin-x64')));
    assert.ok(
      entries.has(`extension/node_modules/onnxruntime-node/bin/napi-v6/darwin/x64/libonnxruntime.${fallback}.dylib`),
      `the darwin-x64 VSIX does not carry onnxruntime ${fallback}`,
    );
    const dir = mkdtempSync(join(tmpdir(), 'tldr-vsix-pairing-'));
    try {
      await unzipTo(vsixPath(root, manifest, 'darwin-x64'), 'extension/', dir);
      cpSync(twin, join(dir, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64'), { recursive: true });
      cpSync(join(root, 'node_modules/@img'), join(dir, 'node_modules/@img'), { recursive: true }); // sharp for this machine
      const shipped = JSON.parse(readFileSync(join(dir, 'node_modules/onnxruntime-node/package.json'), 'utf8')).version;
      assert.notEqual(shipped, fallback, 'the pairing under test: newer JavaScript, older binding');
      const paired = useNatives(dir);
      assert.deepEqual(paired.logits, useNatives(root).logits);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
