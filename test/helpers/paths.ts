// Paths tests share: the repo root (tests run from out/test/...) and the shared data folder
// that sits beside a checkout on the team's machines but not in a user's fresh clone.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const sharedClipDir = path.resolve(repoRoot, '..', 'shared', 'data', 'clip-vit-b32');
export const hasSharedClip = fs.existsSync(path.join(sharedClipDir, 'tokenizer.json'));
export const SHARED_SKIP = hasSharedClip
  ? false
  : `../shared/data/clip-vit-b32 is absent (it sits beside the team's checkouts, not in a fresh clone)`;

export function tempDir(prefix = 'tldr-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
