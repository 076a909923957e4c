import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCaptionSource, readCocoCaptions, sampleCaptionPairs } from '../../../src/engine/data/captions';
import { tempDir } from '../../helpers/paths';

/** COCO's layout: annotations/captions_val2014.json beside val2014/ */
function coco(images: number, captionsPerImage: number, opts: { skip?: number[] } = {}): { dir: string; file: string } {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'annotations'));
  fs.mkdirSync(path.join(dir, 'val2014'));
  const list = Array.from({ length: images }, (_, i) => ({
    id: 1000 + i,
    file_name: `COCO_val2014_${String(i).padStart(12, '0')}.jpg`,
    width: 640,
    height: 480,
  }));
  for (const [i, im] of list.entries()) if (!opts.skip?.includes(i)) fs.writeFileSync(path.join(dir, 'val2014', im.file_name), 'x');
  const annotations = list.flatMap((im, i) =>
    Array.from({ length: captionsPerImage }, (_, k) => ({ id: i * 10 + k, image_id: im.id, caption: ` image ${i} caption ${k}.\n` })),
  );
  const file = path.join(dir, 'annotations', 'captions_val2014.json');
  fs.writeFileSync(file, JSON.stringify({ info: {}, images: list, licenses: [], annotations }));
  return { dir, file };
}

test('COCO captions: one pair per annotation, images found in val2014/ beside annotations/, captions trimmed', () => {
  const { dir, file } = coco(3, 2);
  const pairs = readCocoCaptions(file);
  assert.equal(pairs.length, 6);
  assert.deepEqual(pairs[3], { path: path.join(dir, 'val2014', 'COCO_val2014_000000000001.jpg'), caption: 'image 1 caption 1.' });
  const elsewhere = readCocoCaptions(file, '/data/coco/images');
  // the same file name under the given root
  assert.equal(elsewhere[0].path, path.join('/data/coco/images', path.basename(pairs[0].path)));
});

test('the sample is seeded, without repeats, in file order, and not the first rows', () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const a = sampleCaptionPairs(items, 10, 0);
  assert.equal(new Set(a).size, 10);
  assert.deepEqual(
    a,
    [...a].sort((x, y) => x - y),
  );
  assert.deepEqual(sampleCaptionPairs(items, 10, 0), a);
  assert.notDeepEqual(sampleCaptionPairs(items, 10, 1), a);
  assert.notDeepEqual(a, items.slice(0, 10));
  assert.equal(sampleCaptionPairs(items, 50, 3), items);
});

test('every pair is equally likely to be drawn', () => {
  // 2000 seeds x 5 of 20: each item is drawn 500 times in expectation, sd 19.4; allow 4 sd
  const counts = new Array(20).fill(0);
  for (let seed = 0; seed < 2000; seed++) for (const i of sampleCaptionPairs([...counts.keys()], 5, seed)) counts[i]++;
  for (const [i, c] of counts.entries()) assert.ok(Math.abs(c - 500) < 78, `item ${i} drawn ${c} times`);
});

test('readCaptionSource: COCO by extension, limit pairs, and only the sampled images need to exist', () => {
  const { dir, file } = coco(40, 5);
  const pairs = readCaptionSource({ path: file, format: 'auto', limit: 25 }, 7);
  assert.equal(pairs.length, 25);
  assert.deepEqual(readCaptionSource({ path: file, format: 'coco', limit: 25 }, 7), pairs);
  // remove every image the seed-7 sample does not use: the same sample still reads
  const used = new Set(pairs.map((p) => p.path));
  const all = fs.readdirSync(path.join(dir, 'val2014')).map((n) => path.join(dir, 'val2014', n));
  for (const f of all) if (!used.has(f)) fs.rmSync(f);
  assert.ok(used.size < all.length - 10, `the sample uses ${used.size} of ${all.length} images`);
  assert.deepEqual(readCaptionSource({ path: file, format: 'auto', limit: 25 }, 7), pairs);
  assert.throws(() => readCaptionSource({ path: file, format: 'auto', limit: 25 }, 8), /caption images are missing/);
});

test('missing caption images are listed with the COCO fix', () => {
  const { dir, file } = coco(4, 1, { skip: [1, 3] });
  assert.throws(
    () => readCaptionSource({ path: file, format: 'auto', limit: 1000 }, 0),
    (err: Error) => {
      assert.match(err.message, /captions_val2014\.json: 2 caption images are missing:\n/);
      assert.ok(err.message.includes(path.join(dir, 'val2014', 'COCO_val2014_000000000001.jpg')));
      assert.ok(err.message.includes(path.join(dir, 'val2014', 'COCO_val2014_000000000003.jpg')));
      assert.ok(err.message.includes(`Set "root" to the COCO images folder (looked in ${path.join(dir, 'val2014')})`));
      return true;
    },
  );
});

test('a CSV caption source is sampled the same way', () => {
  const dir = tempDir();
  const rows = Array.from({ length: 30 }, (_, i) => `img${i}.png,"caption ${i}, with a comma"`);
  for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(dir, `img${i}.png`), 'x');
  fs.writeFileSync(path.join(dir, 'captions.csv'), ['image,caption', ...rows].join('\n'));
  const pairs = readCaptionSource({ path: path.join(dir, 'captions.csv'), format: 'auto', limit: 8 }, 0);
  const picked = pairs.map((p) => Number(/img(\d+)/.exec(p.path)![1]));
  assert.deepEqual(picked, sampleCaptionPairs([...Array(30).keys()], 8, 0));
  assert.equal(pairs[0].caption, `caption ${picked[0]}, with a comma`);
});

test('not a captions file: an instances file, a file without images, and annotations of unknown images', () => {
  const dir = tempDir();
  const f = (name: string, body: unknown) => {
    fs.writeFileSync(path.join(dir, name), JSON.stringify(body));
    return path.join(dir, name);
  };
  assert.throws(
    () =>
      readCocoCaptions(
        f('instances_val2014.json', { images: [{ id: 1, file_name: 'a.jpg' }], annotations: [{ image_id: 1, bbox: [0, 0, 1, 1] }] }),
      ),
    /its annotations have no "caption" \(this is a COCO instances file\)\. Use the captions file/,
  );
  assert.throws(
    () => readCocoCaptions(f('list.json', [1, 2])),
    /not a COCO captions file: it needs "images" \[\{id, file_name\}\] and "annotations"/,
  );
  assert.throws(
    () =>
      readCocoCaptions(
        f('c.json', {
          images: [{ id: 1, file_name: 'a.jpg' }],
          annotations: [
            { image_id: 1, caption: 'a' },
            { image_id: 9, caption: 'b' },
          ],
        }),
      ),
    /c\.json: 1 annotations cannot be paired with an image:\n {2}annotation 1: image_id 9 is not in "images"/,
  );
});
