// The OpenAI / open_clip tokenizer files (vocab.json + merges.txt) run as the tokenizer.json a
// Hugging Face export ships: same ids as the reference BPE, as tokenizer.json, and (with the
// real CLIP files beside the checkout) the 25 reference cases of openai/CLIP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clipTokenizerJson } from '../../../src/engine/clip/bpeTokenizer';
import { loadClipTokenizer } from '../../../src/engine/clip/tokenizer';
import { repoRoot, sharedClipDir, SHARED_SKIP, tempDir } from '../../helpers/paths';

const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'clip');
const EXTRA = [
  'a photo of a cat.',
  "the bird's nest isn't here",
  'Photo   of\tTHE  waterbird',
  'emoji 🐦 and ümlauts',
  '2024-05-01: 42 birds, 7 lakes!',
  'x',
  '',
];

test('fixture vocab.json + merges.txt give the reference BPE ids and the same ids as its tokenizer.json', () => {
  const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reference.json'), 'utf8')) as {
    tokenizerCases: { text: string; ids: number[] }[];
  };
  const bpe = loadClipTokenizer(path.join(FIXTURES, 'optimum', 'vocab.json'), path.join(FIXTURES, 'optimum', 'merges.txt'));
  const json = loadClipTokenizer(path.join(FIXTURES, 'split', 'tokenizer.json'));
  assert.equal(ref.tokenizerCases.length, 6);
  for (const c of ref.tokenizerCases) assert.deepEqual(bpe.encode(c.text), c.ids, c.text);
  for (const t of [...ref.tokenizerCases.map((c) => c.text), ...EXTRA]) assert.deepEqual(bpe.encode(t), json.encode(t), t);
  assert.deepEqual([bpe.endId, bpe.padId, bpe.unkId], [628, 628, undefined]);
});

test('real CLIP vocab.json + merges.txt: the 25 openai/CLIP reference cases', { skip: SHARED_SKIP }, () => {
  const tok = loadClipTokenizer(path.join(sharedClipDir, 'vocab.json'), path.join(sharedClipDir, 'merges.txt'));
  const ref = JSON.parse(fs.readFileSync(path.join(sharedClipDir, 'clip-reference-ids.json'), 'utf8')) as {
    cases: { text: string; ids: number[] }[];
  };
  assert.equal(ref.cases.length, 25);
  for (const c of ref.cases) assert.deepEqual(tok.encode(c.text), c.ids, c.text);
  assert.deepEqual([tok.endId, tok.padId, tok.unkId], [49407, 49407, undefined]);
});

test('real CLIP vocab.json + merges.txt: the same tokenizer as the real tokenizer.json', { skip: SHARED_SKIP }, () => {
  const built = clipTokenizerJson(path.join(sharedClipDir, 'vocab.json'), path.join(sharedClipDir, 'merges.txt'));
  const real = JSON.parse(fs.readFileSync(path.join(sharedClipDir, 'tokenizer.json'), 'utf8'));
  // Every section as transformers writes it, the vocabulary and all 48894 merges included.
  assert.deepEqual(built, real);
  const fromBpe = loadClipTokenizer(path.join(sharedClipDir, 'vocab.json'), path.join(sharedClipDir, 'merges.txt'));
  const fromJson = loadClipTokenizer(path.join(sharedClipDir, 'tokenizer.json'));
  const long = Array.from({ length: 120 }, (_, i) => `bird${i}`).join(' ');
  for (const t of [...EXTRA, long]) assert.deepEqual(fromBpe.encode(t), fromJson.encode(t), t);
});

test('files that are not a CLIP vocabulary or its merges are named with the fix', () => {
  const dir = tempDir();
  try {
    const vocab = path.join(dir, 'vocab.json');
    const merges = path.join(dir, 'merges.txt');
    fs.writeFileSync(vocab, JSON.stringify({ a: 0, b: 1, 'ab</w>': 2 }));
    fs.writeFileSync(merges, '#version: 0.2\na b</w>\n');
    assert.throws(
      () => loadClipTokenizer(vocab, merges),
      new RegExp(`${vocab}: has no "<\\|startoftext\\|>" token, so it is not a CLIP vocabulary`),
    );
    fs.writeFileSync(vocab, JSON.stringify({ a: 0, 'b</w>': 1, 'ab</w>': 2, '<|startoftext|>': 3, '<|endoftext|>': 4 }));
    fs.writeFileSync(merges, '#version: 0.2\na b</w>\nab c d\n');
    assert.throws(() => loadClipTokenizer(vocab, merges), new RegExp(`${merges}:3: "ab c d" is not a merge of this vocabulary`));
    fs.writeFileSync(vocab, '["a", "b"]');
    assert.throws(() => loadClipTokenizer(vocab, merges), /not a vocabulary; vocab\.json maps each token to its integer id/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
