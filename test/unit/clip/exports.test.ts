// The CLIP export layouts users have, on ONE tiny CLIP written in each of them by
// tools/fixtures/make_clip_exports.py: every layout loads and gives the split layout's embeddings
// (bitwise for the single file, within measured bounds for float16 and quantised variants), and
// every wrong file is our clear error, never onnxruntime's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClip, type ClipModel, type ClipSettings } from '../../../src/engine/clip/clipModel';
import { CLIP_VARIANTS, listClipVariants, resolveClipFiles } from '../../../src/engine/clip/exportLayout';
import { CLIP_VARIANTS as SCHEMA_VARIANTS } from '../../../src/experiment';
import { repoRoot, tempDir } from '../../helpers/paths';

const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'clip');
const fixture = (...p: string[]) => path.join(FIXTURES, ...p);
const reference = JSON.parse(fs.readFileSync(fixture('reference.json'), 'utf8')) as {
  tokenizerCases: { text: string; ids: number[] }[];
  textEmbeds: number[][];
  imageEmbeds: number[][];
};
const TEXTS = reference.tokenizerCases.map((c) => c.text);
// The fixture images: exactly representable, the same numbers PyTorch got.
const PIXELS = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => ((i * 7919) % 255) / 127.5 - 1);
const DIM = 8;

function settings(dir: string, extra: Partial<ClipSettings> = {}): ClipSettings {
  return { dir: fixture(dir), tokenizer: 'tokenizer.json', preprocessor: 'preprocessor_config.json', names: {}, ...extra };
}

async function embed(clip: ClipSettings): Promise<{ text: Float32Array; image: Float32Array; model: ClipModel }> {
  const model = await loadClip(clip, (p) => p);
  try {
    return { text: await model.encodeTexts(TEXTS), image: await model.encodePixels(PIXELS, 2), model };
  } finally {
    await model.release();
  }
}

/** The largest absolute difference and the smallest cosine over rows of `dim` values. */
function compare(a: Float32Array, b: ArrayLike<number>, dim = DIM): { maxAbs: number; minCos: number } {
  assert.equal(a.length, b.length);
  let maxAbs = 0;
  let minCos = 1;
  for (let r = 0; r < a.length / dim; r++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = r * dim; j < (r + 1) * dim; j++) {
      dot += a[j] * b[j];
      na += a[j] * a[j];
      nb += b[j] * b[j];
      maxAbs = Math.max(maxAbs, Math.abs(a[j] - b[j]));
    }
    minCos = Math.min(minCos, dot / Math.sqrt(na * nb));
  }
  return { maxAbs, minCos };
}

let splitCache: Promise<{ text: Float32Array; image: Float32Array }> | undefined;
const split = () => (splitCache ??= embed(settings('split')));

test('split layout (Hugging Face / transformers.js fp32): the embeddings PyTorch computed', async () => {
  const { text, image, model } = await embed(settings('split'));
  assert.equal(model.dim, DIM);
  assert.equal(model.files.variant, 'fp32');
  // Real rows of size |e| ~ 1-1.7; float32 graph vs PyTorch float32.
  assert.ok(compare(text, reference.textEmbeds.flat()).maxAbs < 1e-5);
  assert.ok(compare(image, reference.imageEmbeds.flat()).maxAbs < 1e-5);
  const norms = reference.textEmbeds.map((r) => Math.hypot(...r));
  assert.ok(Math.min(...norms) > 0.3, 'the reference embeddings are not unit-length: they are the raw projections');
});

test('optimum single model.onnx: each tower cut out of the one graph gives the split embeddings bit for bit', async () => {
  const ref = await split();
  const single = await embed(settings('optimum'));
  assert.deepEqual(single.text, ref.text);
  assert.deepEqual(single.image, ref.image);
  assert.equal(single.model.files.textModel, single.model.files.visionModel);
  const notes = single.model.notes.join('\n');
  assert.match(notes, /model\.onnx \(both towers in one file\), variant fp32/);
  assert.match(notes, /text_embeds is L2-normalised in the file; reading the projection before the normalisation/);
  assert.match(notes, /holds more than the vision tower \(also input_ids, attention_mask\)/);
  assert.match(notes, /no tokenizer\.json; built from vocab\.json \+ merges\.txt/);
});

test('the reported crash: textModel and visionModel both pointed at model.onnx now load and match', async () => {
  const ref = await split();
  const both = await embed(settings('optimum', { textModel: 'model.onnx', visionModel: 'model.onnx' }));
  assert.deepEqual(both.text, ref.text);
  assert.deepEqual(both.image, ref.image);
  assert.equal(both.model.files.variant, 'custom');
  const viaModel = await embed(settings('optimum', { model: 'model.onnx' }));
  assert.deepEqual(viaModel.text, ref.text);
});

test('transformers.js fp16 variant (float32 IO, float16 inside) is within float16 precision of fp32', async () => {
  const ref = await split();
  const fp16 = await embed(settings('split', { variant: 'fp16' }));
  assert.equal(fp16.model.files.variant, 'fp16');
  assert.match(fp16.model.files.textModel, /onnx\/text_model_fp16\.onnx$/);
  // measured: max |diff| 7.6e-4 (text), 2.8e-4 (image) on rows of norm up to 1.7; 1 - cos 2e-7
  for (const [a, b] of [
    [fp16.text, ref.text],
    [fp16.image, ref.image],
  ]) {
    const c = compare(a, b);
    assert.ok(c.maxAbs > 0 && c.maxAbs < 3e-3, `max |diff| ${c.maxAbs}`);
    assert.ok(1 - c.minCos < 1e-5, `1 - cos ${1 - c.minCos}`);
  }
});

test('transformers.js quantized variant (dynamic uint8) is within quantisation error of fp32', async () => {
  const ref = await split();
  const q = await embed(settings('split', { variant: 'quantized' }));
  // measured: max |diff| 1.6e-2 (text), 1.0e-2 (image); 1 - cos 1e-4 at most
  for (const [a, b] of [
    [q.text, ref.text],
    [q.image, ref.image],
  ]) {
    const c = compare(a, b);
    assert.ok(c.maxAbs > 1e-4 && c.maxAbs < 5e-2, `max |diff| ${c.maxAbs}`);
    assert.ok(1 - c.minCos < 1e-3, `1 - cos ${1 - c.minCos}`);
  }
});

test('optimum --dtype fp16 model.onnx (float16 pixel_values and outputs) is converted both ways', async () => {
  const ref = await split();
  const half = await embed(settings('optimum-fp16'));
  assert.match(half.model.notes.join('\n'), /pixel_values and \S+ in float16, converted from and to float32/);
  // measured: max |diff| 8.7e-4 (text), 2.1e-4 (image)
  for (const [a, b] of [
    [half.text, ref.text],
    [half.image, ref.image],
  ]) {
    const c = compare(a, b);
    assert.ok(c.maxAbs < 3e-3, `max |diff| ${c.maxAbs}`);
    assert.ok(1 - c.minCos < 1e-5, `1 - cos ${1 - c.minCos}`);
  }
});

test('an export with fixed shapes (batch 1, 77 tokens) runs one row at a time, padded to 77', async () => {
  const ref = await split();
  const fixed = await embed(settings('static'));
  // measured 2.4e-7: the same weights in a graph traced with constant shapes
  assert.ok(compare(fixed.text, ref.text).maxAbs < 1e-6);
  assert.ok(compare(fixed.image, ref.image).maxAbs < 1e-6);
});

test('variants offered by a folder, most precise first, split preferred to a single file', () => {
  assert.deepEqual(
    listClipVariants(fixture('split')).map((v) => [v.variant, v.layout, v.textModel]),
    [
      ['fp32', 'split', 'onnx/text_model.onnx'],
      ['fp16', 'split', 'onnx/text_model_fp16.onnx'],
      ['quantized', 'split', 'onnx/text_model_quantized.onnx'],
    ],
  );
  assert.deepEqual(listClipVariants(fixture('optimum')), [
    { variant: 'fp32', layout: 'single', textModel: 'model.onnx', visionModel: 'model.onnx' },
  ]);
  // transformers.js's full naming, as in Xenova/clip-vit-base-patch32/onnx (empty files: only names matter here)
  const dir = tempDir();
  try {
    fs.mkdirSync(path.join(dir, 'onnx'));
    const names = ['model', 'text_model', 'vision_model'].flatMap((m) => CLIP_VARIANTS.map((v) => (v === 'fp32' ? m : `${m}_${v}`)));
    for (const n of names.filter((n) => n !== 'vision_model_bnb4')) fs.writeFileSync(path.join(dir, 'onnx', `${n}.onnx`), '');
    fs.writeFileSync(path.join(dir, 'onnx', 'decoder_model_merged.onnx'), '');
    const offered = listClipVariants(dir);
    assert.deepEqual(
      offered.map((v) => v.variant),
      [...CLIP_VARIANTS],
    );
    assert.deepEqual(
      offered.map((v) => v.layout),
      ['split', 'split', 'split', 'split', 'split', 'split', 'split', 'single'],
      'bnb4 has no vision tower file, so its model_bnb4.onnx serves',
    );
    assert.equal(offered.at(-1)!.textModel, 'onnx/model_bnb4.onnx');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the engine and the schema offer the same variants', () => {
  assert.deepEqual([...SCHEMA_VARIANTS], [...CLIP_VARIANTS]);
});

test('folder errors name the folder, what it has, what was expected and the setting', () => {
  const resolve = (p: string) => p;
  const base = { tokenizer: 'tokenizer.json', preprocessor: 'preprocessor_config.json' };
  const dir = tempDir();
  try {
    fs.writeFileSync(path.join(dir, 'clip.onnx'), '');
    assert.throws(
      () => resolveClipFiles({ dir, ...base }, resolve),
      (err: Error) => {
        assert.equal(err.name, 'InputError');
        assert.match(err.message, new RegExp(`^${dir}: no CLIP model found: it has clip\\.onnx\\.`));
        assert.match(err.message, /onnx\/text_model\.onnx \+ onnx\/vision_model\.onnx/);
        assert.match(err.message, /model\.onnx holding both towers \(optimum-cli export onnx\)/);
        assert.match(err.message, /models\.clip\.textModel and models\.clip\.visionModel/);
        return true;
      },
    );
    assert.throws(
      () => resolveClipFiles({ dir: path.join(dir, 'nope'), ...base }, resolve),
      /the CLIP folder does not exist.*models\.clip\.dir/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(
    () => resolveClipFiles({ dir: fixture('split'), variant: 'q4', ...base }, resolve),
    /models\.clip\.variant is "q4" but the folder has no q4 model; it offers fp32, fp16, quantized\. Choose one of those in models\.clip\.variant/,
  );
  assert.throws(
    () => resolveClipFiles({ dir: fixture('split'), textModel: 'onnx/text.onnx', ...base }, resolve),
    /split\/onnx\/text\.onnx: CLIP text model not found\. Fix models\.clip\.textModel/,
  );
  assert.throws(
    () => resolveClipFiles({ dir: fixture('split'), ...base, tokenizer: 'tok.json' }, resolve),
    /tok\.json: CLIP tokenizer not found, nor vocab\.json \+ merges\.txt beside it.*models\.clip\.tokenizer/,
  );
});

test('a tower given the wrong file says which file, what it has and what a tower takes', async () => {
  const text = 'onnx/text_model.onnx';
  const vision = 'onnx/vision_model.onnx';
  await assert.rejects(
    loadClip(settings('split', { textModel: vision, visionModel: vision }), (p) => p),
    (err: Error) => {
      assert.equal(err.name, 'InputError');
      assert.ok(
        err.message.startsWith(
          `${fixture('split', vision)}: not a CLIP text model: its inputs are pixel_values float32 [batch_size, num_channels, height, width]`,
        ),
        err.message,
      );
      assert.match(
        err.message,
        /a text tower takes int64 or int32 \[batch, sequence\] \(input_ids\)\. Point models\.clip\.textModel at the text tower/,
      );
      return true;
    },
  );
  await assert.rejects(
    loadClip(settings('split', { textModel: text, visionModel: text }), (p) => p),
    /text_model\.onnx: not a CLIP vision model: its inputs are input_ids int64 \[batch_size, sequence_length\]; attention_mask int64 \[batch_size, sequence_length\], but a vision tower takes float32 or float16 \[batch, 3, height, width\] \(pixel_values\)\. Point models\.clip\.visionModel/,
  );
  await assert.rejects(
    loadClip(settings('split', { names: { textEmbeds: 'pooled' } }), (p) => p),
    /text_model\.onnx: has no text embedding output named "pooled" \(it has text_embeds float32 \[batch_size, 8\]; last_hidden_state float32 \[batch_size, sequence_length, 16\]\)\. Fix models\.clip\.names\.textEmbeds/,
  );
  await assert.rejects(
    loadClip(settings('split', { names: { imageEmbeds: 'last_hidden_state' } }), (p) => p),
    /"last_hidden_state" is last_hidden_state float32 \[batch_size, \w+, \w+\], but the image embedding output must be float \[batch, dim\] \(image_embeds\)\. Fix models\.clip\.names\.imageEmbeds/,
  );
});

test('a preprocessor config whose crop does not fit a fixed-size vision tower is refused before any work', async () => {
  const dir = tempDir();
  try {
    fs.cpSync(fixture('static'), dir, { recursive: true });
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'preprocessor_config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify({ ...cfg, crop_size: 24, size: 24 }));
    await assert.rejects(
      loadClip({ ...settings('static'), dir }, (p) => p),
      /vision_model\.onnx: the vision tower takes pixel_values \[1, 3, 32, 32\] but .*preprocessor_config\.json makes \[batch, 3, 24, 24\]/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
