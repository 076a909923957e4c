import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readImageFolder } from '../../../src/engine/data/imageFolder';
import { experimentSchema } from '../../../src/experiment';
import { sampleExperiment } from '../../helpers/experiment';
import { tempDir } from '../../helpers/paths';

const task = experimentSchema.parse(sampleExperiment()).task; // classes landbird, waterbird

function world(files: string[]): string {
  const dir = tempDir();
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), 'x'); // the reader does not decode
  }
  return dir;
}

const rel = (dir: string, records: { path: string; label: number | null; spurious: number | null }[]) =>
  records.map((r) => [path.relative(dir, r.path), r.label, r.spurious]);

test('root/<class>/: class folders in any case, images at any depth in torchvision order, other files ignored', () => {
  const dir = world([
    'landbird/b.jpg',
    'landbird/a.PNG',
    'landbird/sub/c.webp',
    'landbird/.hidden.jpg',
    'landbird/notes.txt',
    'WaterBird/x.gif',
    'WaterBird/y.jpeg',
    'WaterBird/old.bmp',
    'readme.jpg',
  ]);
  assert.deepEqual(rel(dir, readImageFolder(dir, task, {})), [
    ['WaterBird/old.bmp', 1, null],
    ['WaterBird/x.gif', 1, null],
    ['WaterBird/y.jpeg', 1, null],
    ['landbird/a.PNG', 0, null],
    ['landbird/b.jpg', 0, null],
    ['landbird/sub/c.webp', 0, null],
  ]);
});

test('root/<split>/<class>/: the split picks the folder; class folders may be indices', () => {
  const dir = world(['train/landbird/1.jpg', 'train/waterbird/2.jpg', 'val/0/3.jpg', 'val/1/4.jpg', 'val/1/5.jpg']);
  assert.deepEqual(rel(dir, readImageFolder(dir, task, { split: 'val' })), [
    ['val/0/3.jpg', 0, null],
    ['val/1/4.jpg', 1, null],
    ['val/1/5.jpg', 1, null],
  ]);
  assert.equal(readImageFolder(dir, task, { split: 'train' }).length, 2);
});

test('unknown class folders are listed with the classes expected', () => {
  const dir = world(['landbird/1.jpg', 'seabird/2.jpg', 'gull/3.jpg']);
  assert.throws(
    () => readImageFolder(dir, task, {}),
    (err: Error) => {
      assert.equal(
        err.message,
        `${dir}: 2 folders are not a class of task.classes ["landbird","waterbird"]: gull, seabird. Rename the folders to class names (any case) or indices 0-1, or fix task.classes.`,
      );
      return true;
    },
  );
});

test('split folders read as classes: the error says to set "split"', () => {
  const dir = world(['test/landbird/1.jpg', 'train/landbird/2.jpg', 'val/waterbird/3.jpg']);
  assert.throws(
    () => readImageFolder(dir, task, {}),
    /3 folders are not a class of .*: test, train, val\. These look like split folders: add "split": "train"/,
  );
});

test('a missing split folder names the folders there are', () => {
  const dir = world(['train/landbird/1.jpg', 'test/landbird/2.jpg']);
  assert.throws(
    () => readImageFolder(dir, task, { split: 'val' }),
    (err: Error) => err.message.startsWith(`${dir}: has no "val" folder; its folders are test, train. Set "split"`),
  );
  assert.throws(() => readImageFolder(path.join(dir, 'nope'), task, {}), /nope: folder not found/);
});

test('class folders without images, and a folder without class folders, are errors', () => {
  const empty = world(['landbird/notes.txt', 'waterbird/.DS_Store']);
  assert.throws(() => readImageFolder(empty, task, {}), /the class folders hold no images \(files ending in \.jpg, \.jpeg/);
  const flat = world(['1.jpg', '2.jpg']);
  assert.throws(
    () => readImageFolder(flat, task, {}),
    /no class folders\. Put each class's images in a folder named after it, e\.g\. .*landbird\//,
  );
});
