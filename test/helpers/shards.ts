// Checks the shard tests share (test/integration/shard.test.ts, test/slurm/): the cache holds
// only whole entries, and two run folders hold the same run.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeSafetensors } from '../../src/engine/io/safetensors';

/** Every cache entry decodes to a whole F32 vector, no temp file is left, and the entries' sizes agree per namespace. */
export function checkCacheEntries(cacheDir: string): { entries: number } {
  let entries = 0;
  const walk = (dir: string, ns: string | undefined, dims: Map<string, number>) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        walk(p, ns ?? e.name, dims);
        continue;
      }
      assert.ok(!e.name.endsWith('.tmp'), `temp file left in the cache: ${p}`);
      assert.match(e.name, /^[0-9a-f]{64}\.safetensors$/, `unexpected file in the cache: ${p}`);
      const t = decodeSafetensors(fs.readFileSync(p)).tensors.embedding;
      assert.ok(t && t.dtype === 'F32' && t.shape.length === 1 && t.data.length === t.shape[0], `torn or damaged entry: ${p}`);
      const known = dims.get(ns!);
      if (known === undefined) dims.set(ns!, t.shape[0]);
      else assert.equal(t.shape[0], known, `entry of another size in namespace ${ns}: ${p}`);
      entries++;
    }
  };
  walk(cacheDir, undefined, new Map());
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
