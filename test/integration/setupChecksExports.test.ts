// The editor's Setup checks on the export fixtures: optimum's single file with vocab/merges, a
// transformers.js variant, a Softmax / fixed-batch / NHWC classifier, and the wrong-model cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkSetup } from '../../src/engine/api';
import type { SetupCheck } from '../../src/protocol/events';
import { sampleExperiment } from '../helpers/experiment';
import { repoRoot, tempDir } from '../helpers/paths';

const FIX = path.join(repoRoot, 'test', 'fixtures');

async function checks(models: { clip: Record<string, unknown>; classifier: Record<string, unknown> }): Promise<Map<string, SetupCheck>> {
  const dir = tempDir('tldr-setup-exports-');
  try {
    const file = path.join(dir, 'x.tldr.json');
    fs.writeFileSync(file, JSON.stringify({ ...sampleExperiment(), models }));
    return new Map((await checkSetup(file)).map((c) => [c.id, c]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const classifier = (name: string) => ({ path: path.join(FIX, 'classifier-exports', name), preprocessing: { resize: 16, crop: 16 } });

test('setup checks: optimum model.onnx with vocab/merges, and a Softmax classifier', async () => {
  const c = await checks({ clip: { dir: path.join(FIX, 'clip', 'optimum') }, classifier: classifier('softmax_head.onnx') });
  for (const id of [
    'clip-files',
    'clip-text',
    'clip-vision',
    'clip-tokenizer',
    'clip-preprocessor',
    'clip-dims',
    'classifier',
    'classifier-input',
  ])
    assert.equal(c.get(id)?.status, 'ok', `${id}: ${c.get(id)?.message}`);
  assert.match(
    c.get('clip-files')!.message,
    /model\.onnx \(both towers in one file\), variant fp32.*built from vocab\.json \+ merges\.txt/,
  );
  assert.match(
    c.get('clip-text')!.message,
    /^one file, both towers: input_ids \+ attention_mask -> \S+ \[8\] \(text_embeds is L2-normalised/,
  );
  assert.match(c.get('clip-tokenizer')!.message, /^vocab\.json \+ merges\.txt loads; end token 628/);
  assert.match(c.get('clip-preprocessor')!.message, /^shortest edge 32 \(bicubic\), crop 32$/);
  assert.match(c.get('classifier')!.message, /final layer Gemm \[3 x 8\] on ".+", logits read before the Softmax of "probs"/);
  assert.equal(c.get('classifier-classes')?.status, 'error', 'the sample task has 2 classes, the fixture 3');
});

test('setup checks: a transformers.js variant, a fixed-batch and an NHWC classifier', async () => {
  const split = { dir: path.join(FIX, 'clip', 'split'), variant: 'quantized' };
  const c = await checks({ clip: split, classifier: classifier('batch1.onnx') });
  assert.match(
    c.get('clip-files')!.message,
    /onnx\/text_model_quantized\.onnx \+ onnx\/vision_model_quantized\.onnx, variant quantized; the folder also offers fp32, fp16/,
  );
  assert.match(
    c.get('classifier-input')!.message,
    /^input float32 \[1, 3, 16, 16\] NCHW, fixed batch 1 \(slower: images run 1 at a time\), crop 16$/,
  );
  const nhwc = await checks({ clip: split, classifier: classifier('nhwc_keras.onnx') });
  assert.match(nhwc.get('classifier-input')!.message, /^input_1 float32 \[batch, 16, 16, 3\] NHWC, crop 16$/);
});

test('setup checks: wrong models and a missing variant are errors that name the file and the fix', async () => {
  const clipDir = path.join(FIX, 'clip', 'split');
  const c = await checks({
    clip: { dir: clipDir, textModel: 'onnx/vision_model.onnx', visionModel: 'onnx/vision_model.onnx' },
    classifier: { path: path.join(clipDir, 'onnx', 'text_model.onnx') },
  });
  assert.equal(c.get('clip-text')?.status, 'error');
  assert.match(c.get('clip-text')!.message, /vision_model\.onnx: not a CLIP text model: its inputs are pixel_values float32/);
  assert.equal(c.get('clip-vision')?.status, 'ok');
  assert.equal(c.get('classifier')?.status, 'error');
  assert.match(c.get('classifier')!.message, /text_model\.onnx: the classifier has 2 inputs .*looks like a text model/);
  const v = await checks({ clip: { dir: clipDir, variant: 'int8' }, classifier: classifier('torchvision_resnet.onnx') });
  assert.equal(v.get('clip-files')?.status, 'error');
  assert.match(
    v.get('clip-files')!.message,
    /models\.clip\.variant is "int8" but the folder has no int8 model; it offers fp32, fp16, quantized/,
  );
});
