// proposeExperiment on the committed CLIP and classifier exports and on each data layout (tiny
// temp folders): what is detected, the notes, and that the proposed experiment validates and its
// data sources read with the proposed classes, as a run would read them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { proposeExperiment, tokenize } from '../../../src/engine/api';
import { readImageSource } from '../../../src/engine/data/readSource';
import { DEFAULT_CAPTION_PAIRS, experimentSchema, loadExperiment } from '../../../src/experiment';
import { hasSharedClip, repoRoot, SHARED_SKIP, sharedClipDir, tempDir } from '../../helpers/paths';

const CLIP_SPLIT = path.join(repoRoot, 'test', 'fixtures', 'clip', 'split');
const CLIP_OPTIMUM = path.join(repoRoot, 'test', 'fixtures', 'clip', 'optimum');
const EXPORTS = path.join(repoRoot, 'test', 'fixtures', 'classifier-exports');
const RESNET = path.join(EXPORTS, 'torchvision_resnet.onnx'); // 3 classes, 16x16
const BATCH1 = path.join(EXPORTS, 'batch1.onnx');
const SOFTMAX = path.join(EXPORTS, 'softmax_head.onnx');
const DEMO_CLASSIFIER = path.join(repoRoot, 'media', 'demo', 'birds', 'classifier.onnx'); // 2 classes

function world(files: Record<string, string>): string {
  const dir = tempDir('tldr-propose-');
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}
const images = (prefix: string, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}/${i}.jpg`, 'x']));

/** Writes the proposal beside the data and reads every data source back through the experiment, as a run does. */
function readBack(dir: string, text: string) {
  const file = path.join(dir, 'exp.tldr.json');
  fs.writeFileSync(file, text);
  const l = loadExperiment(file);
  const splits = (['train', 'val', 'test'] as const).filter((s) => l.experiment.data[s]);
  return Object.fromEntries(splits.map((s) => [s, readImageSource(l.experiment.data[s]!, l.experiment.task, l.resolve)!]));
}

test('image folder with splits + split CLIP export + torchvision classifier: classes, variants, crop, a valid experiment', async () => {
  const dir = world({
    ...images('data/train/cat', 2),
    ...images('data/train/dog', 2),
    ...images('data/train/fox', 1),
    ...images('data/val/cat', 1),
    ...images('data/val/dog', 1),
    ...images('data/val/fox', 1),
  });
  const file = path.join(dir, 'pets.tldr.json');
  const p = await proposeExperiment({ clipDir: CLIP_SPLIT, classifierPath: RESNET, dataPath: path.join(dir, 'data'), file });
  assert.deepEqual(p.clip.variants, ['fp32', 'fp16', 'quantized']);
  assert.equal(p.clip.layout, 'split');
  assert.equal(p.clip.tokenizer, 'tokenizer.json');
  assert.equal(p.clip.crop, 32);
  assert.equal(p.classifier.numClasses, 3);
  assert.equal(p.classifier.featureDim, 8);
  assert.deepEqual(p.classifier.inputSize, { height: 16, width: 16, layout: 'NCHW' });
  assert.equal(p.data.kind, 'imageFolder');
  const exp = experimentSchema.parse(p.experiment);
  assert.deepEqual(exp.task.classes, ['cat', 'dog', 'fox']);
  assert.equal(exp.name, 'pets');
  assert.equal(exp.models.clip.variant, 'auto');
  assert.equal(exp.models.classifier.preprocessing.crop, 16, "the classifier's fixed size");
  assert.deepEqual(exp.data.train, { imageFolder: 'data', split: 'train' }, 'relative to the experiment file');
  assert.ok(!p.notes.some((n) => /outputs/.test(n)), 'no class-count note when they agree');
  assert.ok(
    p.notes.some((n) => /no spurious attribute/.test(n)),
    p.notes.join('\n'),
  );
  assert.ok(p.found.some((f) => /fp32, fp16, quantized/.test(f)));
  assert.equal(p.text, JSON.stringify(p.experiment, null, 2) + '\n');
  const read = readBack(dir, p.text);
  assert.deepEqual(
    read.train.map((r) => r.label),
    [0, 0, 1, 1, 2],
  );
  assert.equal(read.val.length, 3);
});

test('optimum single file with vocab.json + merges.txt; spurious name and values given by the user', async () => {
  const dir = world({ ...images('imgs/0', 2), ...images('imgs/1', 2), ...images('imgs/2', 1) });
  const p = await proposeExperiment({
    clipDir: CLIP_OPTIMUM,
    classifierPath: BATCH1,
    dataPath: path.join(dir, 'imgs'),
    file: path.join(dir, 'e.tldr.json'),
    spurious: 'background',
    spuriousValues: ['land', 'water'],
  });
  assert.equal(p.clip.layout, 'single');
  assert.deepEqual(p.clip.variants, ['fp32']);
  assert.equal(p.clip.tokenizer, 'vocab.json + merges.txt');
  assert.equal(p.classifier.inputSize?.fixedBatch, 1);
  assert.ok(
    p.found.some((f) => /fixed batch 1 .*slower/.test(f)),
    p.found.join('\n'),
  );
  const exp = experimentSchema.parse(p.experiment);
  // index folders: placeholders that still read the folders by index
  assert.deepEqual(exp.task.classes, ['class 0', 'class 1', 'class 2']);
  assert.ok(p.notes.some((n) => /by index/.test(n)));
  assert.deepEqual(exp.task.spurious, { name: 'background', values: ['land', 'water'] });
  assert.deepEqual(Object.keys(exp.words.spurious), ['land', 'water']);
  assert.ok(!p.notes.some((n) => /no spurious attribute/.test(n)));
  assert.deepEqual(
    readBack(dir, p.text).train.map((r) => r.label),
    [0, 0, 1, 1, 2],
  );
});

test('class names that disagree with the classifier outputs: a clear note, the data names kept', async () => {
  const dir = world({ ...images('d/cat', 1), ...images('d/dog', 1) });
  const p = await proposeExperiment({
    clipDir: CLIP_SPLIT,
    classifierPath: SOFTMAX,
    dataPath: path.join(dir, 'd'),
    file: path.join(dir, 'x.tldr.json'),
  });
  const exp = experimentSchema.parse(p.experiment);
  assert.deepEqual(exp.task.classes, ['cat', 'dog']);
  const note = p.notes.find((n) => /2 classes \(cat, dog\) but the classifier has 3 outputs/.test(n));
  assert.ok(note, p.notes.join('\n'));
  assert.ok(
    p.notes.some((n) => /Softmax/.test(n)),
    'the Softmax head is said',
  );
});

test('a manifest with label names and a spurious column: classes and spurious values from the table', async () => {
  const dir = world({
    'train.csv': 'path,label,spurious\na.jpg,landbird,land\nb.jpg,waterbird,water\nc.jpg,landbird,water\n',
    'val.csv': 'path,label,spurious\nd.jpg,waterbird,land\n',
    'a.jpg': 'x',
    'b.jpg': 'x',
    'c.jpg': 'x',
    'd.jpg': 'x',
  });
  const p = await proposeExperiment({
    clipDir: CLIP_SPLIT,
    classifierPath: DEMO_CLASSIFIER,
    dataPath: dir,
    file: path.join(dir, 'b.tldr.json'),
  });
  assert.equal(p.data.kind, 'manifest');
  const exp = experimentSchema.parse(p.experiment);
  assert.deepEqual(exp.task.classes, ['landbird', 'waterbird']);
  assert.deepEqual(exp.task.spurious, { name: 'spurious', values: ['land', 'water'] });
  assert.deepEqual(exp.data.train, { manifest: 'train.csv', format: 'auto' });
  const read = readBack(dir, p.text);
  assert.deepEqual(
    read.train.map((r) => [r.label, r.spurious]),
    [
      [0, 0],
      [1, 1],
      [0, 1],
    ],
  );
  assert.ok(!p.notes.some((n) => /outputs/.test(n)), p.notes.join('\n'));
});

test('Waterbirds metadata.csv: landbird/waterbird and place land/water, splits 0/1/2', async () => {
  const dir = world({
    'wb/metadata.csv': 'img_id,img_filename,y,split,place\n1,a/1.jpg,0,0,0\n2,a/2.jpg,1,1,1\n3,b/3.jpg,1,2,0\n',
    'wb/a/1.jpg': 'x',
    'wb/a/2.jpg': 'x',
    'wb/b/3.jpg': 'x',
  });
  const p = await proposeExperiment({
    clipDir: CLIP_SPLIT,
    classifierPath: DEMO_CLASSIFIER,
    dataPath: path.join(dir, 'wb'),
    file: path.join(dir, 'wb.tldr.json'),
  });
  assert.equal(p.data.kind, 'waterbirds');
  const exp = experimentSchema.parse(p.experiment);
  assert.deepEqual(exp.task.spurious, { name: 'place', values: ['land', 'water'] });
  assert.deepEqual(Object.keys(exp.data), ['train', 'val', 'test']);
  const read = readBack(dir, p.text);
  assert.deepEqual(
    read.test.map((r) => [r.label, r.spurious]),
    [[1, 0]],
  );
});

const ATTRS = ['Blond_Hair', 'Male', 'Smiling', 'Young'];
function celebaWorld(): string {
  const rows = Array.from({ length: 6 }, (_, k) => {
    const i = k + 1;
    const v = ATTRS.map((_, a) => ((i + a) % 2 ? ' 1' : '-1'));
    return `${String(i).padStart(6, '0')}.jpg ${v.join(' ')}`;
  });
  return world({
    'celeba/list_attr_celeba.txt': `6\n${ATTRS.join(' ')} \n${rows.join('\n')}\n`,
    'celeba/list_eval_partition.txt': rows.map((r, k) => `${r.slice(0, 10)} ${k < 3 ? 0 : k < 5 ? 1 : 2}`).join('\n') + '\n',
    ...Object.fromEntries(rows.map((r) => [`celeba/img_align_celeba/${r.slice(0, 10)}`, 'x'])),
  });
}

test('CelebA: the defaults (Blond_Hair, Male), and the target and spurious attribute chosen by name', async () => {
  const dir = celebaWorld();
  const base = {
    clipDir: CLIP_SPLIT,
    classifierPath: DEMO_CLASSIFIER,
    dataPath: path.join(dir, 'celeba'),
    file: path.join(dir, 'c.tldr.json'),
  };
  const d = await proposeExperiment(base);
  assert.deepEqual(d.data.attributes, ATTRS);
  assert.deepEqual(experimentSchema.parse(d.experiment).task.classes, ['not blond hair', 'blond hair']);

  const p = await proposeExperiment({ ...base, target: 'smiling', spurious: 'Young' });
  const exp = experimentSchema.parse(p.experiment);
  assert.deepEqual(exp.task.classes, ['not smiling', 'smiling']);
  assert.deepEqual(exp.task.spurious, { name: 'young', values: ['not young', 'young'] });
  assert.deepEqual(exp.data.train, { celeba: 'celeba', target: 'Smiling', spurious: 'Young', split: 'train' });
  const read = readBack(dir, p.text);
  assert.equal(read.train.length, 3);
  assert.equal(read.val.length, 2);
  // row i has Smiling = 1 when (i + 2) is odd, Young = 1 when (i + 3) is odd
  assert.deepEqual(
    read.train.map((r) => [r.label, r.spurious]),
    [
      [1, 0],
      [0, 1],
      [1, 0],
    ],
  );
  await assert.rejects(proposeExperiment({ ...base, target: 'Bald' }), /CelebA has no attribute "Bald".*Blond_Hair, Male, Smiling, Young/);
  await assert.rejects(proposeExperiment({ ...base, target: 'Male', spurious: 'male' }), /both Male/);
});

test('no known layout, captions only, and a CLIP tower given as the classifier: notes, and still a valid experiment', async () => {
  const dir = world({ 'loose/a.jpg': 'x', 'loose/b.jpg': 'x' });
  const p = await proposeExperiment({
    clipDir: path.join(dir, 'nowhere'),
    classifierPath: path.join(CLIP_SPLIT, 'onnx', 'text_model.onnx'),
    dataPath: path.join(dir, 'loose'),
    file: path.join(dir, 'u.tldr.json'),
  });
  assert.equal(p.data.kind, 'unknown');
  assert.ok(p.clip.error && /CLIP folder does not exist/.test(p.clip.error), p.clip.error);
  assert.ok(p.classifier.error && /text model/.test(p.classifier.error), p.classifier.error);
  assert.ok(
    p.notes.some((n) => /loose in the folder/.test(n)),
    p.notes.join('\n'),
  );
  assert.ok(p.notes.some((n) => /placeholders/.test(n)));
  const exp = experimentSchema.parse(p.experiment);
  assert.deepEqual(exp.task.classes, ['class 0', 'class 1']);
  assert.deepEqual(exp.data.train, { manifest: 'loose', format: 'auto' });

  const coco = JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }], annotations: [{ image_id: 1, caption: 'a cat' }] });
  const cdir = world({ 'annotations/captions_val2014.json': coco, 'val2014/a.jpg': 'x' });
  const c = await proposeExperiment({ clipDir: CLIP_SPLIT, classifierPath: RESNET, dataPath: cdir, file: path.join(cdir, 'c.tldr.json') });
  assert.equal(c.data.kind, 'captions');
  const cexp = experimentSchema.parse(c.experiment);
  assert.deepEqual(cexp.data.captions, { path: 'annotations/captions_val2014.json', format: 'coco', limit: DEFAULT_CAPTION_PAIRS });
  assert.deepEqual(cexp.task.classes, ['class 0', 'class 1', 'class 2'], "placeholders, as many as the classifier's outputs");
  assert.ok(c.notes.some((n) => /Only caption pairs/.test(n)));
});

test('paths far from the experiment are written absolute; near ones relative', async () => {
  const dir = world(images('exp/e/f/g/h/data/a', 1));
  const home = path.join(dir, 'exp', 'e', 'f', 'g', 'h');
  fs.mkdirSync(path.join(home, 'data', 'b'));
  fs.writeFileSync(path.join(home, 'data', 'b', '0.jpg'), 'x');
  // the CLIP folder five levels up and across: far, wherever the checkout and the temp folder are
  const farClip = path.join(dir, 'far', 'a', 'b', 'c', 'clip');
  fs.mkdirSync(path.dirname(farClip), { recursive: true });
  fs.symlinkSync(CLIP_SPLIT, farClip);
  const p = await proposeExperiment({
    clipDir: farClip,
    classifierPath: DEMO_CLASSIFIER,
    dataPath: path.join(home, 'data'),
    file: path.join(home, 'n.tldr.json'),
  });
  const exp = experimentSchema.parse(p.experiment);
  assert.equal(exp.models.clip.dir, farClip, 'five levels up is far: absolute');
  assert.equal(exp.data.train && 'imageFolder' in exp.data.train && exp.data.train.imageFolder, 'data');
});

test(
  'tokenize and proposeExperiment read vocab.json + merges.txt as the engine does: the same ids as the real tokenizer.json',
  { skip: SHARED_SKIP },
  async () => {
    if (!hasSharedClip) return;
    // the real CLIP files are linked, never copied
    const dir = tempDir('tldr-vocab-');
    for (const f of ['vocab.json', 'merges.txt']) fs.symlinkSync(path.join(sharedClipDir, f), path.join(dir, f));
    const texts = ['a photo of a waterbird.', 'Mallard!', 'sea-gull on a rock'];
    const fromVocab = tokenize(dir, texts);
    const fromJson = tokenize(sharedClipDir, texts);
    assert.deepEqual(fromVocab, fromJson);
    assert.equal(fromVocab[0].ids[0], 49406, 'the start token of the real vocabulary');
    // a CLIP folder with the fixture's towers and the real vocab/merges
    for (const f of ['onnx', 'preprocessor_config.json']) fs.symlinkSync(path.join(CLIP_SPLIT, f), path.join(dir, f));
    const p = await proposeExperiment({ clipDir: dir, classifierPath: RESNET, dataPath: dir, file: path.join(dir, 'e.tldr.json') });
    assert.equal(p.clip.tokenizer, 'vocab.json + merges.txt');
    assert.equal(p.clip.error, undefined);
  },
);
