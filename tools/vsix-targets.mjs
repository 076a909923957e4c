// The VS Code targets the extension ships for, and what the packager and its test share about them.
import { join } from 'node:path';

export const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];
export const MAX_VSIX_BYTES = 60 * 1024 * 1024;
// onnxruntime-node stopped shipping macOS x64 binaries after 1.23.2. That release's binding runs
// under the newer JavaScript (test/package/vsix.test.mjs runs the pairing with its Linux build).
export const ORT_FALLBACK = { 'darwin-x64': '1.23.2' };

/** 'darwin-arm64' -> { os: 'darwin', arch: 'arm64' } (Node's process.platform / process.arch). */
export function splitTarget(target) {
  const [os, arch] = target.split('-');
  return { os, arch };
}

/** Where `npm run package` writes the VSIX of `target`: vsce's own file name, in vsix/. */
export function vsixPath(root, manifest, target) {
  return join(root, 'vsix', `${manifest.name}-${target}-${manifest.version}.vsix`);
}

/** Where the packager keeps the npm packages it fetched for `target` (git-ignored; not under out/, which every compile empties). */
export function cacheDir(root, target) {
  return join(root, '.vsix-cache', target);
}

/** The onnxruntime shared library an onnxruntime_binding.node links against, read from its bytes. */
export function ortLibraryOf(binding) {
  const names = new Set(binding.toString('latin1').match(/libonnxruntime[\w.]*?\.(?:dylib|so\.\d+)|onnxruntime\.dll/g) ?? []);
  if (names.size !== 1) throw new Error(`expected one onnxruntime library named in the binding, found ${[...names].join(', ') || 'none'}`);
  return [...names][0];
}
