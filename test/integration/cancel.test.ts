// Cancelling during encoding: the run stops, is recorded as cancelled, leaves only complete
// cache entries, and the next run resumes from the cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runExperiment } from '../../src/engine/api';
import { decodeSafetensors } from '../../src/engine/io/safetensors';
import { makeSmallDemo } from '../helpers/smallDemo';
import { tempDir } from '../helpers/paths';

function cacheFiles(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

test('cancel during encoding, then resume from the cache', async () => {
  const dir = tempDir('tldr-cancel-');
  const exp = await makeSmallDemo(dir);
  const controller = new AbortController();
  let progressSeen = 0;
  const summary = await runExperiment(exp, {
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'progress' && e.step === 'encode-images' && ++progressSeen === 1) controller.abort();
    },
  });
  assert.equal(summary.status, 'cancelled');
  const runJson = JSON.parse(fs.readFileSync(path.join(summary.runDir, 'run.json'), 'utf8'));
  assert.equal(runJson.status, 'cancelled');
  assert.ok(!fs.existsSync(path.join(summary.runDir, 'model.debiased.onnx')), 'nothing exported');

  const cache = path.join(dir, '.tldr', 'cache');
  const entries = cacheFiles(cache);
  assert.ok(entries.length > 0, 'the batches done before the cancel are cached');
  for (const f of entries) {
    assert.ok(f.endsWith('.safetensors'), `no temp file left: ${f}`);
    assert.doesNotThrow(() => decodeSafetensors(fs.readFileSync(f)), f);
  }

  const resumed = await runExperiment(exp, {});
  assert.equal(resumed.status, 'succeeded');
  const counts = JSON.parse(fs.readFileSync(path.join(resumed.runDir, 'run.json'), 'utf8')).counts;
  assert.ok(counts.cached > 0, 'the resumed run reads what the cancelled one encoded');
  assert.ok(counts.encoded < counts.images, 'and encodes only the rest');
});
