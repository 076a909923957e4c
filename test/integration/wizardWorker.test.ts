// The wizard's requests through the real worker (dist/worker.js) as the extension host sends
// them: proposeExperiment and clipVariants answer, and bad input comes back as the user's message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkerClient, describeError } from '../../src/extension/jobs/workerClient';
import { clipVariantsRequest, proposeExperimentRequest } from '../../src/protocol/worker';
import { repoRoot, tempDir } from '../helpers/paths';

const client = new WorkerClient(path.join(repoRoot, 'dist', 'worker.js'), () => {});
after(() => client.dispose());

test('proposeExperiment and clipVariants over JSON-RPC', async () => {
  const dir = tempDir('tldr-wizard-worker-');
  for (const c of ['cat', 'dog', 'fox']) {
    fs.mkdirSync(path.join(dir, 'pets', c), { recursive: true });
    fs.writeFileSync(path.join(dir, 'pets', c, '1.jpg'), 'x');
  }
  const clip = path.join(repoRoot, 'test', 'fixtures', 'clip', 'split');
  const p = await client.request(proposeExperimentRequest, {
    clipDir: clip,
    classifierPath: path.join(repoRoot, 'test', 'fixtures', 'classifier-exports', 'timm_vit.onnx'),
    dataPath: path.join(dir, 'pets'),
    file: path.join(dir, 'pets.tldr.json'),
  });
  assert.deepEqual(p.experiment.task.classes, ['cat', 'dog', 'fox']);
  assert.equal(p.classifier.numClasses, 3);
  assert.ok(p.text.endsWith('\n'));
  const variants = await client.request(clipVariantsRequest, { dir: clip });
  assert.deepEqual(
    variants.map((v) => [v.variant, v.layout, v.textModel]),
    [
      ['fp32', 'split', 'onnx/text_model.onnx'],
      ['fp16', 'split', 'onnx/text_model_fp16.onnx'],
      ['quantized', 'split', 'onnx/text_model_quantized.onnx'],
    ],
  );
  assert.deepEqual(await client.request(clipVariantsRequest, { dir: path.join(dir, 'nothing') }), []);
  // bad input comes back as the engine's message, for the wizard to show
  fs.mkdirSync(path.join(dir, 'celeba'));
  fs.writeFileSync(path.join(dir, 'celeba', 'list_attr_celeba.txt'), '2\nBlond_Hair Male\n000001.jpg  1 -1\n000002.jpg -1  1\n');
  const err = await client
    .request(proposeExperimentRequest, {
      clipDir: clip,
      classifierPath: path.join(dir, 'x.onnx'),
      dataPath: path.join(dir, 'celeba'),
      file: path.join(dir, 'c.tldr.json'),
      target: 'Bald',
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err, 'rejected');
  assert.match(describeError(err), /CelebA has no attribute "Bald" for the class \(--target\); its attributes are Blond_Hair, Male\./);
});
