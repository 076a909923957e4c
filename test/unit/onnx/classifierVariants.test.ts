// Classifier exports users bring (tools/fixtures/make_classifier_exports.py): torchvision and timm
// heads, MatMul + Add, a final Softmax, a fixed batch of 1, NHWC input, float16. Features and
// logits from the engine's runner against the values PyTorch computed; wrong models refused
// with the file, what it has and what was expected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { classifierRunner, exportDebiased, inspectClassifier, prepareClassifier } from '../../../src/engine/onnx';
import { repoRoot, tempDir } from '../../helpers/paths';

const DIR = path.join(repoRoot, 'test', 'fixtures', 'classifier-exports');
const fixture = (name: string) => path.join(DIR, name);
const reference = JSON.parse(fs.readFileSync(fixture('reference.json'), 'utf8')) as {
  models: Record<string, { features: number[][]; logits: number[][] }>;
};
const PIXELS = Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => ((i * 7919) % 255) / 127.5 - 1);

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function runFixture(name: string, pixels = PIXELS, n = 2) {
  const info = await prepareClassifier(fixture(name));
  const session = await ort.InferenceSession.create(info.modelBytes);
  try {
    const runner = classifierRunner(session, info, 16);
    const out = await runner.run(pixels, n, [info.featuresName, info.logitsName]);
    return { info, runner, features: out[info.featuresName], logits: out[info.logitsName] };
  } finally {
    await session.release();
  }
}

const CASES: [file: string, op: string, layout: string, tolerance: number][] = [
  ['torchvision_resnet.onnx', 'Gemm', 'NCHW', 1e-5], // Flatten -> Gemm
  ['timm_vit.onnx', 'Gemm', 'NCHW', 1e-5], // class token (Gather) -> Gemm
  ['matmul_add_head.onnx', 'MatMul+Add', 'NCHW', 1e-5],
  ['softmax_head.onnx', 'Gemm', 'NCHW', 1e-5],
  ['batch1.onnx', 'Gemm', 'NCHW', 1e-5],
  ['nhwc_keras.onnx', 'MatMul+Add', 'NHWC', 1e-5],
  // float16 weights and IO: measured 1.8e-4 (features), 8e-5 (logits) on values of size ~1
  ['float16.onnx', 'Gemm', 'NCHW', 1e-3],
];

for (const [name, op, layout, tol] of CASES) {
  test(`${name}: features and logits equal PyTorch's, and logits = features·Wᵀ + b`, async () => {
    const { info, features, logits } = await runFixture(name);
    const ref = reference.models[name];
    assert.equal(info.layer.op, op);
    assert.equal(info.imageInput.layout, layout);
    assert.equal(info.featureDim, 8);
    assert.equal(info.numClasses, 3);
    assert.ok(maxAbs(features, ref.features.flat()) < tol, `features ${maxAbs(features, ref.features.flat())}`);
    assert.ok(maxAbs(logits, ref.logits.flat()) < tol, `logits ${maxAbs(logits, ref.logits.flat())}`);
    // the head the engine read reproduces the logits from the features
    const z = new Float64Array(6);
    for (let r = 0; r < 2; r++)
      for (let c = 0; c < 3; c++) {
        z[r * 3 + c] = info.bias[c];
        for (let d = 0; d < 8; d++) z[r * 3 + c] += features[r * 8 + d] * info.weight[c * 8 + d];
      }
    assert.ok(maxAbs(z, logits) < tol, `features·Wᵀ + b vs logits ${maxAbs(z, logits)}`);
  });
}

test('a final Softmax: the logits before it are read, the output stays probabilities, and it is said', async () => {
  const { info } = await runFixture('softmax_head.onnx');
  assert.equal(info.outputName, 'probs');
  assert.notEqual(info.logitsName, 'probs');
  assert.match(
    info.notes.join('\n'),
    /output "probs" is a Softmax of the final linear layer; TLDR reads the logits before it \(".+"\), and the debiased model keeps the Softmax/,
  );
  const keras = await inspectClassifier(fixture('nhwc_keras.onnx'));
  assert.equal(keras.outputName, 'predictions');
  // the debiased export keeps the Softmax after the new head
  const dir = tempDir();
  try {
    const out = path.join(dir, 'debiased.onnx');
    const W = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
    const b = Float32Array.from([0.5, -0.25, 0]);
    await exportDebiased(fixture('softmax_head.onnx'), out, W, b);
    const session = await ort.InferenceSession.create(out);
    const probs = (await session.run({ input: new ort.Tensor('float32', PIXELS, [2, 3, 16, 16]) })).probs.data as Float32Array;
    await session.release();
    const features = reference.models['softmax_head.onnx'].features;
    for (let r = 0; r < 2; r++) {
      const z = [0, 1, 2].map((c) => b[c] + features[r].reduce((s, f, d) => s + f * W[c * 8 + d], 0));
      const e = z.map((v) => Math.exp(v - Math.max(...z)));
      const sum = e.reduce((a, v) => a + v, 0);
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(probs[r * 3 + c] - e[c] / sum) < 1e-5, `row ${r} class ${c}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a fixed batch of 1 runs image by image (3 images, one call each) and says it is slower', async () => {
  const three = new Float32Array(3 * 768);
  three.set(PIXELS);
  three.set(PIXELS.subarray(0, 768), 2 * 768); // image 3 = image 1
  const { info, runner, features } = await runFixture('batch1.onnx', three, 3);
  assert.equal(info.imageInput.fixedBatch, 1);
  assert.match(runner.notes.join('\n'), /fixed batch of 1, so images run one at a time, which is slower than larger batches/);
  const ref = reference.models['batch1.onnx'].features;
  assert.ok(maxAbs(features, [...ref[0], ...ref[1], ...ref[0]]) < 1e-5);
});

test('NHWC input: the NCHW pixels are transposed for it, and it is said', async () => {
  const { runner } = await runFixture('nhwc_keras.onnx');
  assert.match(runner.notes.join('\n'), /takes channels-last images \(input_1 \[batch, height, width, 3\]\); pixels are transposed for it/);
});

test('a crop that does not fit the model is refused before running', async () => {
  const info = await prepareClassifier(fixture('torchvision_resnet.onnx'));
  const session = await ort.InferenceSession.create(info.modelBytes);
  try {
    assert.doesNotThrow(() => classifierRunner(session, info, 16));
    assert.throws(
      () => classifierRunner(session, info, 24),
      /torchvision_resnet\.onnx: the classifier takes 16x16 images but models\.classifier\.preprocessing\.crop is 24\. Set crop \(and resize\) to match the model\./,
    );
  } finally {
    await session.release();
  }
});

test('wrong models are refused with the file, what it has and what was expected', async () => {
  const clip = path.join(repoRoot, 'test', 'fixtures', 'clip', 'split', 'onnx');
  const textModel = path.join(clip, 'text_model.onnx');
  await assert.rejects(inspectClassifier(textModel), (err: Error) => {
    assert.equal(err.name, 'InputError');
    assert.ok(
      err.message.startsWith(
        `${textModel}: the classifier has 2 inputs (input_ids int64 [batch_size, sequence_length]; attention_mask int64`,
      ),
      err.message,
    );
    assert.match(
      err.message,
      /integer token ids, so this looks like a text model \(a CLIP text tower\?\), but TLDR feeds one float image input \[batch, 3, height, width\] \(NCHW\) or \[batch, height, width, 3\] \(NHWC\)\. Point models\.classifier\.path/,
    );
    return true;
  });
  await assert.rejects(
    inspectClassifier(path.join(clip, 'vision_model.onnx')),
    /vision_model\.onnx: no final linear layer found: output "image_embeds" is computed by a MatMul node "\/visual_projection\/MatMul" with no bias after it, as at the end of a CLIP tower \(CLIP models belong in models\.clip\)/,
  );
  await assert.rejects(
    inspectClassifier(fixture('grayscale.onnx')),
    /grayscale\.onnx: the classifier's input is input float32 \[batch, 1, 16, 16\]: 1 channels, but TLDR feeds RGB images/,
  );
  await assert.rejects(
    inspectClassifier(fixture('two_inputs.onnx')),
    /two_inputs\.onnx: the classifier has 2 inputs \(image float32 \[1, 3, 16, 16\]; scale float32 \[1, 1\]\), but TLDR feeds one float image input/,
  );
  await assert.rejects(
    inspectClassifier(fixture('torchvision_resnet.onnx'), { input: 'image' }),
    /torchvision_resnet\.onnx: has no input named "image" \(it has input float32 \[batch, 3, 16, 16\]\)\. Fix models\.classifier\.input/,
  );
});
