import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readManifest, readCaptionPairs } from '../../../src/engine/data/manifest';
import { experimentSchema } from '../../../src/experiment/schema';
import { sampleExperiment } from '../../helpers/experiment';
import { tempDir } from '../../helpers/paths';

const task = experimentSchema.parse(sampleExperiment()).task;

function world(files: string[]): string {
  const dir = tempDir();
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), 'x');
  }
  return dir;
}

test('Waterbirds metadata.csv: split names map to 0/1/2 and y/place to indices', () => {
  const dir = world(['a/1.png', 'a/2.png', 'b/3.png']);
  fs.writeFileSync(
    path.join(dir, 'metadata.csv'),
    'img_id,img_filename,y,split,place\n1,a/1.png,0,0,0\n2,a/2.png,1,0,1\n3,b/3.png,1,2,0\n',
  );
  const train = readManifest(path.join(dir, 'metadata.csv'), task, { format: 'auto', split: 'train' });
  assert.deepEqual(
    train.map((r) => [path.relative(dir, r.path), r.label, r.spurious]),
    [
      ['a/1.png', 0, 0],
      ['a/2.png', 1, 1],
    ],
  );
  const test_ = readManifest(path.join(dir, 'metadata.csv'), task, { format: 'auto', split: 'test' });
  assert.equal(test_.length, 1);
});

test('CSV with class names, no spurious column (train without group labels)', () => {
  const dir = world(['x.jpg', 'y.jpg']);
  fs.writeFileSync(path.join(dir, 'train.csv'), 'path,label\nx.jpg,landbird\ny.jpg,WATERBIRD\n');
  const rows = readManifest(path.join(dir, 'train.csv'), task, { format: 'auto' });
  assert.deepEqual(
    rows.map((r) => [r.label, r.spurious]),
    [
      [0, null],
      [1, null],
    ],
  );
});

test('JSONL with a root folder', () => {
  const dir = world(['imgs/x.jpg']);
  fs.writeFileSync(path.join(dir, 'list.jsonl'), '{"path":"x.jpg","label":1,"spurious":"water"}\n\n');
  const rows = readManifest(path.join(dir, 'list.jsonl'), task, { format: 'auto', root: path.join(dir, 'imgs') });
  assert.deepEqual(
    rows.map((r) => [r.path, r.label, r.spurious]),
    [[path.join(dir, 'imgs', 'x.jpg'), 1, 1]],
  );
});

test('unknown labels are listed by row with the accepted names', () => {
  const dir = world(['x.jpg', 'y.jpg']);
  fs.writeFileSync(path.join(dir, 'm.csv'), 'path,label,spurious\nx.jpg,seabird,land\ny.jpg,3,water\n');
  assert.throws(
    () => readManifest(path.join(dir, 'm.csv'), task, { format: 'auto' }),
    (err: Error) => {
      assert.match(err.message, /m\.csv: 2 rows with unknown labels/);
      assert.match(err.message, /row 2: label "seabird" is not a class index or one of \["landbird","waterbird"\]/);
      assert.match(err.message, /row 3: label "3"/);
      return true;
    },
  );
});

test('missing image files are listed by path', () => {
  const dir = world(['x.jpg']);
  fs.writeFileSync(path.join(dir, 'm.csv'), 'path,label\nx.jpg,0\ngone1.jpg,1\nsub/gone2.jpg,0\n');
  assert.throws(
    () => readManifest(path.join(dir, 'm.csv'), task, { format: 'auto' }),
    (err: Error) => {
      assert.match(err.message, /2 image files are missing/);
      assert.ok(err.message.includes(path.join(dir, 'gone1.jpg')));
      assert.ok(err.message.includes(path.join(dir, 'sub', 'gone2.jpg')));
      assert.ok(!err.message.includes(path.join(dir, 'x.jpg')));
      return true;
    },
  );
});

test('caption pairs read image,caption columns', () => {
  const dir = world(['c.png']);
  fs.writeFileSync(path.join(dir, 'captions.csv'), 'image,caption\nc.png,"a duck on a lake, swimming"\n');
  assert.deepEqual(readCaptionPairs(path.join(dir, 'captions.csv')), [
    { path: path.join(dir, 'c.png'), caption: 'a duck on a lake, swimming' },
  ]);
});

test('an empty manifest is named as empty, with or without a header', () => {
  const dir = world([]);
  for (const [name, text, says] of [
    [
      'header.csv',
      'path,label\n',
      /header\.csv: the manifest is empty: it has a header \(path,label\) and no rows\. Add one row per image\./,
    ],
    ['blank.csv', '', /blank\.csv: the manifest is empty\. Add a header and one row per image/],
    ['blank.jsonl', '\n\n', /blank\.jsonl: the manifest is empty\./],
  ] as const) {
    fs.writeFileSync(path.join(dir, name), text);
    assert.throws(
      () => readManifest(path.join(dir, name), task, { format: 'auto', split: 'train' }),
      (err: Error) => {
        assert.match(err.message, says);
        assert.doesNotMatch(err.message, /split/);
        return true;
      },
    );
  }
});

test('a manifest without a path column names the columns it has and the accepted names', () => {
  const dir = world(['x.jpg']);
  fs.writeFileSync(path.join(dir, 'm.csv'), 'img,label\nx.jpg,0\n');
  assert.throws(
    () => readManifest(path.join(dir, 'm.csv'), task, { format: 'auto' }),
    (err: Error) => {
      assert.equal(
        err.message,
        `${path.join(dir, 'm.csv')}: no image path column. Its columns are img, label; name the image path column one of: path, image, img_filename, file, filename.`,
      );
      return true;
    },
  );
  fs.writeFileSync(path.join(dir, 'm.jsonl'), '{"picture":"x.jpg","label":0}\n');
  assert.throws(
    () => readManifest(path.join(dir, 'm.jsonl'), task, { format: 'auto' }),
    /m\.jsonl: no image path column\. Its keys are picture, label; name the image path key one of: path, image/,
  );
});

test('JSONL rows without a path are listed as such, not as unknown labels', () => {
  const dir = world(['x.jpg']);
  fs.writeFileSync(path.join(dir, 'm.jsonl'), '{"path":"x.jpg","label":0}\n{"label":1}\n{"path":"","label":1}\n');
  assert.throws(
    () => readManifest(path.join(dir, 'm.jsonl'), task, { format: 'auto' }),
    (err: Error) => {
      assert.match(err.message, /m\.jsonl: 2 rows without an image path:\n {2}row 2: no image path\n {2}row 3: no image path\n/);
      assert.doesNotMatch(err.message, /unknown labels/);
      return true;
    },
  );
});

test('a split with no rows lists the split values the manifest has, or says it has no split column', () => {
  const dir = world(['x.jpg', 'y.jpg']);
  fs.writeFileSync(path.join(dir, 'm.csv'), 'path,label,split\nx.jpg,0,training\ny.jpg,1,validation\n');
  assert.throws(
    () => readManifest(path.join(dir, 'm.csv'), task, { format: 'auto', split: 'train' }),
    /m\.csv: no rows with split "train"; its split column has "training", "validation"\. Set "split" to one of them\./,
  );
  fs.writeFileSync(path.join(dir, 'n.csv'), 'path,label\nx.jpg,0\n');
  assert.throws(
    () => readManifest(path.join(dir, 'n.csv'), task, { format: 'auto', split: 'train' }),
    /n\.csv: no rows with split "train": the manifest has no split column\. Remove "split" to use every row/,
  );
});

test('caption files without a caption column name their columns', () => {
  const dir = world(['c.png']);
  fs.writeFileSync(path.join(dir, 'captions.csv'), 'image,description\nc.png,a duck\n');
  assert.throws(
    () => readCaptionPairs(path.join(dir, 'captions.csv')),
    /captions\.csv: no caption column\. Its columns are image, description; name the caption column one of: caption, text\./,
  );
});
