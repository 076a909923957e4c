// The committed demo models: loadable the way the engine loads them, and as measured.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type * as HfTokenizers from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
const { Tokenizer } = require('@huggingface/tokenizers') as typeof HfTokenizers;

const root = path.resolve(__dirname, '..', '..', '..', '..');
const models = path.join(root, 'media', 'demo', 'birds');
const clip = path.join(models, 'clip');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

test('the committed demo models stay small and meet the recorded figures', () => {
  const prov = readJson(path.join(models, 'provenance.json'));
  const files = ['classifier.onnx', 'clip/onnx/text_model.onnx', 'clip/onnx/vision_model.onnx', 'clip/tokenizer.json'];
  const total = files.reduce((sum, f) => sum + fs.statSync(path.join(models, f)).size, 0);
  assert.ok(total < 5 * 1024 * 1024, `${total} bytes`);
  const fig = prov.figures_test;
  assert.ok(fig.erm.avg >= 90 && fig.erm.worst <= 60, 'ERM must be accurate on average and lean on the scene');
  assert.ok(fig.dfr.worst >= 85, 'the features must hold the bird');
  assert.ok(fig.clip_zero_shot.type_anchors >= 85 && fig.clip_zero_shot.scene_anchors >= 85);
  assert.ok(fig.modality_gap.norm_unnormalised > 0.1);
  assert.deepEqual(prov.classifier.preprocessing.resize, 64);
  assert.equal(prov.classifier.last_op, 'Gemm');
});

test('the tokenizer covers the task and the 80 templates with integer ids; unknown words become [UNK]', () => {
  const world = readJson(path.join(root, 'src', 'engine', 'demo', 'worlds', 'birds.json'));
  const tok = new Tokenizer(readJson(path.join(clip, 'tokenizer.json')), readJson(path.join(clip, 'tokenizer_config.json')));
  const unk = tok.token_to_id('[UNK]');
  const texts = [
    ...world.task.targetAnchors,
    ...world.task.spuriousAnchors,
    'a close-up photo of a duck.',
    'a black and white photo of the ocean.',
    'itap of my heron.',
  ];
  for (const text of texts) {
    const ids: number[] = tok.encode(text).ids;
    assert.ok(
      ids.every((id) => Number.isInteger(id) && id !== unk),
      `${text}: ${ids}`,
    );
    assert.equal(ids[ids.length - 1], Math.max(...ids), 'the end token has the largest id');
  }
  assert.ok(tok.encode('a photo of a flamingo.').ids.includes(unk as number));
});

test('the text model ignores padding and the models run with onnxruntime-node', async () => {
  const tok = new Tokenizer(readJson(path.join(clip, 'tokenizer.json')), readJson(path.join(clip, 'tokenizer_config.json')));
  const ids: number[] = tok.encode('a photo of a waterbird.').ids;
  const text = await ort.InferenceSession.create(path.join(clip, 'onnx', 'text_model.onnx'));
  const embed = async (len: number) => {
    const input = new BigInt64Array(len);
    const mask = new BigInt64Array(len);
    ids.forEach((id, i) => ((input[i] = BigInt(id)), (mask[i] = 1n)));
    const out = await text.run({
      input_ids: new ort.Tensor('int64', input, [1, len]),
      attention_mask: new ort.Tensor('int64', mask, [1, len]),
    });
    return Array.from(out.text_embeds.data as Float32Array);
  };
  const [a, b] = [await embed(ids.length), await embed(77)];
  assert.ok(a.length >= 16);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4, `dim ${i}: ${v} vs ${b[i]}`));
  const vision = await ort.InferenceSession.create(path.join(clip, 'onnx', 'vision_model.onnx'));
  const img = await vision.run({ pixel_values: new ort.Tensor('float32', new Float32Array(2 * 3 * 64 * 64), [2, 3, 64, 64]) });
  assert.deepEqual(img.image_embeds.dims, [2, a.length]);
  const clf = await ort.InferenceSession.create(path.join(models, 'classifier.onnx'));
  const logits = await clf.run({ input: new ort.Tensor('float32', new Float32Array(3 * 3 * 64 * 64), [3, 3, 64, 64]) });
  assert.deepEqual(logits.logits.dims, [3, 2]);
});
