// Stale state a killed process leaves: temp files in the cache (swept when it opens, only when
// old enough to belong to no live writer) and a run record still saying "running".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmbeddingCache, STALE_TEMP_MS } from '../../../src/engine/cache';
import { effectiveStatus } from '../../../src/engine/runs/store';
import type { RunJson } from '../../../src/protocol/runRecord';
import { tempDir } from '../../helpers/paths';

test('the cache removes temp files older than a few minutes when it opens, and keeps young ones and entries', async () => {
  const dir = tempDir('tldr-sweep-');
  const sub = path.join(dir, 'ns', 'ab');
  fs.mkdirSync(sub, { recursive: true });
  const old = path.join(sub, '.ab.safetensors.123.dead.tmp');
  const young = path.join(sub, '.ac.safetensors.123.beef.tmp');
  const entry = path.join(sub, 'ab.safetensors');
  for (const f of [old, young, entry]) fs.writeFileSync(f, 'x');
  const then = new Date(Date.now() - STALE_TEMP_MS - 60_000);
  fs.utimesSync(old, then, then);
  fs.utimesSync(entry, then, then);
  assert.equal(await new EmbeddingCache(dir).swept, 1);
  assert.deepEqual(
    [old, young, entry].map((f) => fs.existsSync(f)),
    [false, true, true],
  );
  assert.equal(await new EmbeddingCache(path.join(dir, 'absent')).swept, 0, 'no cache folder yet');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a running record reads as interrupted when its process is gone from this host; alive or elsewhere, it runs', () => {
  const rec = (pid: number, host?: string): RunJson =>
    ({ runId: 'r', experiment: '/x', configHash: '', seed: 0, versions: {}, startedAt: '', pid, host, status: 'running' }) as RunJson;
  const gone = 2 ** 22 + 17; // above Linux's pid_max default
  assert.equal(effectiveStatus(rec(gone, os.hostname())), 'interrupted');
  assert.equal(effectiveStatus(rec(gone)), 'interrupted', 'records without a host are judged here');
  assert.equal(effectiveStatus(rec(process.pid, os.hostname())), undefined);
  assert.equal(effectiveStatus(rec(gone, 'another-host')), undefined);
  assert.equal(effectiveStatus({ ...rec(gone), status: 'succeeded' }), 'succeeded');
});
