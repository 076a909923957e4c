import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClipTokenizer, CLIP_CONTEXT } from '../../../src/engine/clip/tokenizer';
import { sharedClipDir, SHARED_SKIP } from '../../helpers/paths';

test('tokenises the 25 reference cases exactly with the real CLIP tokenizer.json', { skip: SHARED_SKIP }, () => {
  const tok = loadClipTokenizer(path.join(sharedClipDir, 'tokenizer.json'));
  const ref = JSON.parse(fs.readFileSync(path.join(sharedClipDir, 'clip-reference-ids.json'), 'utf8')) as {
    cases: { text: string; ids: number[] }[];
  };
  assert.equal(ref.cases.length, 25);
  for (const c of ref.cases) assert.deepEqual(tok.encode(c.text), c.ids, c.text);
  assert.equal(tok.endId, 49407);
  assert.equal(tok.padId, 49407);
  assert.equal(tok.unkId, undefined, "CLIP's unk is its end token, so no word counts as unknown");
});

test('an over-long text gives 77 ids ending in the end token', { skip: SHARED_SKIP }, () => {
  const tok = loadClipTokenizer(path.join(sharedClipDir, 'tokenizer.json'));
  const long = Array.from({ length: 120 }, (_, i) => `bird${i}`).join(' ');
  const ids = tok.encode(long);
  assert.equal(ids.length, CLIP_CONTEXT);
  assert.equal(ids[0], 49406);
  assert.equal(ids[76], 49407);
  assert.notEqual(ids[75], 49407, 'the 76th id is still text');
});

test('a missing tokenizer file names the file and the fix', () => {
  assert.throws(() => loadClipTokenizer('/nonexistent/tokenizer.json'), /nonexistent\/tokenizer\.json.*models\.clip\.tokenizer/);
});
