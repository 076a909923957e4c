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
