// detectDataLayout on generated layouts: the kind, the classes, the splits, and data sources that
// make a valid experiment once the wizard has made their paths relative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { detectDataLayout, type DetectedLayout } from '../../../src/engine/data/detect';
import { readImageSource } from '../../../src/engine/data/readSource';
import { experimentSchema } from '../../../src/experiment';
import { sampleExperiment } from '../../helpers/experiment';
import { tempDir } from '../../helpers/paths';

function world(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

const images = (prefix: string, n: number, ext = 'jpg') =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}/${i}.${ext}`, 'x']));

/** The experiment a wizard would write beside `dir` from what was detected: it must parse, and its sources must read. */
function asExperiment(dir: string, found: DetectedLayout) {
  const rel = (p: string) => path.relative(dir, p) || '.';
  const relSource = (s: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(s).map(([k, v]) => [k, ['manifest', 'imageFolder', 'celeba', 'path'].includes(k) ? rel(String(v)) : v]),
    );
  const e = sampleExperiment() as unknown as {
    task: Record<string, unknown>;
    data: Record<string, unknown>;
    words: Record<string, unknown>;
  };
  const classes = found.classes;
  const values = found.spurious?.values ?? ['a', 'b'];
  e.task = {
    classes,
    spurious: { name: found.spurious?.name ?? 'unknown', values },
    targetAnchors: classes.map((c) => `a photo of a ${c}.`),
    spuriousAnchors: values.map((v) => `a photo of ${v}.`),
  };
  e.words = { targets: Object.fromEntries(classes.map((c) => [c, []])), spurious: Object.fromEntries(values.map((v) => [v, []])) };
  e.data = Object.fromEntries(
    Object.entries({ ...found.data, ...(found.captions && { captions: found.captions }) }).map(([k, s]) => [
      k,
      relSource(s as Record<string, unknown>),
    ]),
  );
  const exp = experimentSchema.parse(e);
  for (const split of found.splits) readImageSource(exp.data[split]!, exp.task, (p) => path.resolve(dir, p));
  return exp;
}

test('image folder without a split level: every folder is a class, in sorted order (torchvision indices), as train', () => {
  const dir = world({ ...images('dog', 3, 'png'), ...images('cat', 2), ...images('Zebra', 1, 'webp'), 'empty/notes.txt': '' });
  const found = detectDataLayout(dir);
  assert.equal(found.kind, 'imageFolder');
  assert.deepEqual(found.classes, ['Zebra', 'cat', 'dog', 'empty']);
  assert.deepEqual(found.splits, []);
  assert.deepEqual(found.data, { train: { imageFolder: dir } });
  assert.equal(found.images, 6);
  assert.ok(found.notes.includes('No images in empty: still classes, as torchvision counts every folder; remove them if they are not.'));
  assert.match(found.notes.join('\n'), /order torchvision's ImageFolder gives them/);
  const exp = asExperiment(dir, found);
  assert.equal(readImageSource(exp.data.train, exp.task, (p) => path.resolve(dir, p))!.length, 6);
});

test('image folder with split folders: splits by role, classes across splits, a missing class folder noted', () => {
  const dir = world({
    ...images('train/bird', 2),
    ...images('train/plane', 2),
    ...images('valid/bird', 1),
    ...images('valid/plane', 1),
    ...images('test/bird', 1),
  });
  const found = detectDataLayout(dir);
  assert.equal(found.kind, 'imageFolder');
  assert.deepEqual(found.classes, ['bird', 'plane']);
  assert.deepEqual(found.splits, ['train', 'val', 'test']);
  assert.deepEqual(found.data.val, { imageFolder: dir, split: 'valid' });
  assert.equal(found.images, 7);
  assert.ok(found.notes.includes('test/ has no folder for plane.'));
  asExperiment(dir, found);
});

test("CelebA in torchvision's celeba/ folder: the attributes, the benchmark target and spurious attribute, the splits present", () => {
  const names = 'Arched_Eyebrows Blond_Hair Male Young';
  const dir = world({
    'celeba/list_attr_celeba.txt': `2\n${names} \n000001.jpg -1  1 -1  1\n000002.jpg  1 -1  1 -1\n`,
    'celeba/list_eval_partition.txt': '000001.jpg 0\n000002.jpg 2\n',
    'celeba/img_align_celeba/000001.jpg': 'x',
    'celeba/img_align_celeba/000002.jpg': 'x',
  });
  const found = detectDataLayout(dir);
  assert.equal(found.kind, 'celeba');
  assert.equal(found.path, path.join(dir, 'celeba'));
  assert.deepEqual(found.attributes, names.split(' '));
  assert.deepEqual(found.classes, ['not blond hair', 'blond hair']);
  assert.deepEqual(found.spurious, { name: 'male', values: ['not male', 'male'] });
  assert.deepEqual(found.splits, ['train', 'test']);
  assert.deepEqual(found.data.test, { celeba: path.join(dir, 'celeba'), target: 'Blond_Hair', spurious: 'Male', split: 'test' });
  const exp = asExperiment(dir, found);
  assert.equal(readImageSource(exp.data.train, exp.task, (p) => path.resolve(dir, p))![0].label, 1);
});

test('Waterbirds metadata.csv with a captions file beside it', () => {
  const dir = world({
    'metadata.csv': 'img_id,img_filename,y,split,place\n1,a/1.jpg,0,0,0\n2,a/2.jpg,1,1,1\n3,b/3.jpg,1,2,0\n',
    'a/1.jpg': 'x',
    'a/2.jpg': 'x',
    'b/3.jpg': 'x',
    'captions.csv': 'image,caption\na/1.jpg,a bird\n',
  });
  const found = detectDataLayout(dir);
  assert.equal(found.kind, 'waterbirds');
  assert.deepEqual(found.classes, ['landbird', 'waterbird']);
  assert.deepEqual(found.spurious, { name: 'place', values: ['land', 'water'] });
  assert.deepEqual(found.data, {
    train: { manifest: path.join(dir, 'metadata.csv'), split: 'train' },
    val: { manifest: path.join(dir, 'metadata.csv'), split: 'val' },
    test: { manifest: path.join(dir, 'metadata.csv'), split: 'test' },
  });
  assert.deepEqual(found.captions, { path: path.join(dir, 'captions.csv') });
  asExperiment(dir, found);
});

test('one manifest per split (train.csv, val.csv, test.csv): label names collected across them', () => {
  const dir = world({
    'train.csv': 'path,label,spurious\nx/1.jpg,cat,indoor\nx/2.jpg,dog,outdoor\n',
    'val.csv': 'path,label,spurious\nx/3.jpg,dog,indoor\n',
    'test.csv': 'path,label,spurious\nx/4.jpg,bird,outdoor\n',
    'x/1.jpg': 'x',
    'x/2.jpg': 'x',
    'x/3.jpg': 'x',
    'x/4.jpg': 'x',
  });
  const found = detectDataLayout(dir);
  assert.equal(found.kind, 'manifest');
  assert.deepEqual(found.classes, ['bird', 'cat', 'dog']);
  assert.deepEqual(found.spurious, { name: 'spurious', values: ['indoor', 'outdoor'] });
  assert.deepEqual(found.data, {
    train: { manifest: path.join(dir, 'train.csv') },
    val: { manifest: path.join(dir, 'val.csv') },
    test: { manifest: path.join(dir, 'test.csv') },
  });
  asExperiment(dir, found);
});

test('a picked JSONL manifest with a split column and numeric labels', () => {
  const dir = world({
    'list.jsonl': [
      '{"image":"1.png","y":2,"split":"training"}',
      '{"image":"2.png","y":0,"split":"validation"}',
      '{"image":"3.png","y":10,"split":"holdout"}',
    ].join('\n'),
  });
  const found = detectDataLayout(path.join(dir, 'list.jsonl'));
  assert.equal(found.kind, 'manifest');
  assert.deepEqual(found.classes, ['0', '2', '10']);
  assert.deepEqual(found.data, {
    train: { manifest: path.join(dir, 'list.jsonl'), split: 'training' },
    val: { manifest: path.join(dir, 'list.jsonl'), split: 'validation' },
  });
  assert.ok(found.notes.some((n) => n.startsWith('Labels are class indices (0, 2, 10)')));
  assert.ok(found.notes.some((n) => n.startsWith('Split values holdout are not train, val or test')));
});

test('COCO: captions_val2014.json preferred over train2014, as a folder or as the picked file', () => {
  const coco = JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }], annotations: [{ image_id: 1, caption: 'a cat' }] });
  const dir = world({ 'annotations/captions_train2014.json': coco, 'annotations/captions_val2014.json': coco, 'val2014/a.jpg': 'x' });
  const found = detectDataLayout(dir);
  assert.equal(found.kind, 'captions');
  assert.deepEqual(found.captions, { path: path.join(dir, 'annotations', 'captions_val2014.json'), format: 'coco' });
  const renamed = world({ 'my-captions.json': coco });
  assert.deepEqual(detectDataLayout(path.join(renamed, 'my-captions.json')).captions, {
    path: path.join(renamed, 'my-captions.json'),
    format: 'coco',
  });
  assert.equal(detectDataLayout(path.join(world({ 'x.json': '{"a":1}' }), 'x.json')).kind, 'unknown');
});

test('unknown layouts say what was looked for, and loose images get a hint', () => {
  const found = detectDataLayout(world({ '1.jpg': 'x', '2.jpg': 'x' }));
  assert.equal(found.kind, 'unknown');
  assert.deepEqual(found.data, {});
  assert.match(
    found.notes[0],
    /looked for class folders of images .* list_attr_celeba\.txt; a Waterbirds metadata\.csv; a CSV or JSONL manifest; a COCO captions_\*\.json/,
  );
  assert.match(found.notes[1], /The images are loose in the folder/);
  assert.match(detectDataLayout('/no/such/folder').notes[0], /does not exist/);
});
