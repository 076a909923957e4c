// Checks the shard tests share (test/integration/shard.test.ts, test/slurm/): the cache holds
// only whole entries, and two run folders hold the same run.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeSafetensors } from '../../src/engine/io/safetensors';

/** Every cache entry decodes to a whole, finite F32 vector, and no temp file is left. */
export function checkCacheEntries(cacheDir: string): { entries: number } {
  let entries = 0;
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      assert.ok(!e.name.endsWith('.tmp'), `temp file left in the cache: ${p}`);
      assert.match(e.name, /^[0-9a-f]{64}\.safetensors$/, `unexpected file in the cache: ${p}`);
      const t = decodeSafetensors(fs.readFileSync(p)).tensors.embedding;
      assert.ok(t && t.dtype === 'F32' && t.shape.length === 1 && t.data.length === t.shape[0], `torn or damaged entry: ${p}`);
      assert.ok(t.shape[0] > 0 && t.data.every(Number.isFinite), `empty or non-finite entry: ${p}`);
      entries++;
    }
  };
  walk(cacheDir);
  assert.ok(entries > 0, `no entries in ${cacheDir}`);
  return { entries };
}

/** The same metrics, selection, head and exported model (byte for byte). */
export function sameRun(a: string, b: string): void {
  const ja = JSON.parse(fs.readFileSync(path.join(a, 'run.json'), 'utf8'));
  const jb = JSON.parse(fs.readFileSync(path.join(b, 'run.json'), 'utf8'));
  assert.equal(ja.status, 'succeeded');
  assert.equal(jb.status, 'succeeded');
  assert.deepEqual(ja.metrics, jb.metrics);
  assert.deepEqual(ja.selection, jb.selection);
  for (const f of ['head.safetensors', 'model.debiased.onnx', 'train-embeddings.safetensors'])
    assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${f} differs between ${a} and ${b}`);
}
