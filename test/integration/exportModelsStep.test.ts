// The encode step's model loading (steps/models.ts) on the export fixtures: an optimum single-file
// CLIP with vocab/merges and a Softmax / NHWC classifier load through the experiment file, say
// what they did in the run log, and encode like the split layout and PyTorch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadExperiment } from '../../src/experiment';
import { createStepContext } from '../../src/engine/steps/context';
import { loadClassifier, loadClipModels } from '../../src/engine/steps/models';
import { loadClip } from '../../src/engine/clip/clipModel';
import { clipSchema } from '../../src/experiment';
import type { EngineEvent } from '../../src/protocol/events';
import { sampleExperiment } from '../helpers/experiment';
import { repoRoot, tempDir } from '../helpers/paths';

const FIX = path.join(repoRoot, 'test', 'fixtures');

function context(models: unknown) {
  const dir = tempDir('tldr-models-step-');
  const file = path.join(dir, 'x.tldr.json');
  fs.writeFileSync(file, JSON.stringify({ ...sampleExperiment(), models }));
  const logs: string[] = [];
  const ctx = createStepContext(loadExperiment(file), {
    cacheDir: path.join(dir, 'cache'),
    onEvent: (e: EngineEvent) => void (e.type === 'log' && logs.push(e.message)),
  });
  return { ctx, logs, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

test('optimum model.onnx + Keras-style classifier through steps/models: notes logged, embeddings as the split layout and PyTorch', async () => {
  const classifier = {
    path: path.join(FIX, 'classifier-exports', 'nhwc_keras.onnx'),
    preprocessing: { resize: 16, crop: 16, resample: 'bilinear' },
  };
  const { ctx, logs, cleanup } = context({ clip: { dir: path.join(FIX, 'clip', 'optimum') }, classifier });
  try {
    const [cls, clip] = await Promise.all([loadClassifier(ctx), loadClipModels(ctx)]);
    const notes = logs.join('\n');
    assert.match(notes, /output "predictions" is a Softmax of the final linear layer/);
    assert.match(notes, /takes channels-last images/);
    assert.match(notes, /model\.onnx \(both towers in one file\)/);
    assert.match(notes, /image_embeds is L2-normalised in the file/);
    assert.equal(cls.preprocessing.resample, 'bilinear');

    const pixels16 = Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => ((i * 7919) % 255) / 127.5 - 1);
    const ref = JSON.parse(fs.readFileSync(path.join(FIX, 'classifier-exports', 'reference.json'), 'utf8')).models['nhwc_keras.onnx'];
    const features = await cls.encoder.run(pixels16, 2);
    features.forEach((v, i) => assert.ok(Math.abs(v - ref.features.flat()[i]) < 1e-5));

    const pixels32 = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => ((i * 7919) % 255) / 127.5 - 1);
    const split = await loadClip(clipSchema.parse({ dir: path.join(FIX, 'clip', 'split') }), (p) => p);
    try {
      assert.deepEqual(await clip.imageEncoder.run(pixels32, 2), await split.encodePixels(pixels32, 2));
      assert.deepEqual(await clip.model.encodeTexts(['a bird.']), await split.encodeTexts(['a bird.']));
    } finally {
      await Promise.all([split.release(), clip.model.release(), cls.release()]);
    }
  } finally {
    cleanup();
  }
});

test('resample is part of the classifier cache key: bilinear and bicubic features are not mixed up', async () => {
  const base = { path: path.join(FIX, 'classifier-exports', 'torchvision_resnet.onnx') };
  const clip = { dir: path.join(FIX, 'clip', 'split') };
  const a = context({ clip, classifier: { ...base, preprocessing: { resize: 16, crop: 16 } } });
  const b = context({ clip, classifier: { ...base, preprocessing: { resize: 16, crop: 16, resample: 'bilinear' } } });
  try {
    const [ca, cb] = await Promise.all([loadClassifier(a.ctx), loadClassifier(b.ctx)]);
    assert.equal(ca.preprocessing.resample, 'bicubic');
    assert.notEqual(ca.encoder.namespace, cb.encoder.namespace);
    await Promise.all([ca.release(), cb.release()]);
  } finally {
    a.cleanup();
    b.cleanup();
  }
});
