// encodeImages with unreadable files among good ones: every bad file is collected with its reason,
// the good rows keep their own vectors (no row shifts), and they are cached before the error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { EmbeddingCache } from '../../../src/engine/cache';
import { InputError } from '../../../src/shared/errors';
import { encodeImages, INFERENCE_CHUNK, type ImageEncoder } from '../../../src/engine/images/encodeImages';
import { tempDir } from '../../helpers/paths';

// The mean of each channel of the preprocessed pixels: for a solid image, its colour / 255.
const meanColour: ImageEncoder = {
  name: 'mean-colour',
  namespace: 'mean-colour-test',
  preprocessing: { resize: 4, crop: 4, mean: [0, 0, 0], std: [1, 1, 1], rescale: 1 / 255 },
  dim: 3,
  async run(pixels, n) {
    const out = new Float32Array(n * 3);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < 3; c++) out[i * 3 + c] = pixels.subarray(i * 48 + c * 16, i * 48 + c * 16 + 16).reduce((s, v) => s + v, 0) / 16;
    return out;
  },
};

const COLOURS = [
  [200, 10, 10],
  [10, 200, 10],
  [10, 10, 200],
];

async function world(): Promise<{ dir: string; paths: string[]; good: number[] }> {
  const dir = tempDir();
  const solid = (c: number[]) => sharp({ create: { width: 6, height: 5, channels: 3, background: { r: c[0], g: c[1], b: c[2] } } });
  await solid(COLOURS[0]).png().toFile(path.join(dir, 'red.png'));
  fs.writeFileSync(path.join(dir, 'notes.jpg'), 'not an image');
  await solid(COLOURS[1]).jpeg({ quality: 100 }).toFile(path.join(dir, 'green.jpg'));
  await solid(COLOURS[2]).webp({ lossless: true }).toFile(path.join(dir, 'blue.webp'));
  // a 64x64 JPEG cut after its headers, in the middle of the scan data
  const noise = Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, k) => (k * 7919) % 251));
  const big = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } })
    .jpeg()
    .toBuffer();
  fs.writeFileSync(path.join(dir, 'cut.jpg'), big.subarray(0, big.length >> 1));
  const names = ['red.png', 'notes.jpg', 'green.jpg', 'gone.png', 'blue.webp', 'cut.jpg'];
  return { dir, paths: names.map((n) => path.join(dir, n)), good: [0, 2, 4] };
}

test('unreadable files fail together, listed by path with the reason and the fix; the good ones are cached first', async () => {
  const { dir, paths, good } = await world();
  const cache = new EmbeddingCache(path.join(dir, 'cache'));
  await assert.rejects(encodeImages(paths, [meanColour], { cache, batchSize: 2, source: 'data.train' }), (err: Error) => {
    assert.ok(err instanceof InputError);
    const lines = err.message.split('\n');
    assert.equal(lines[0], 'data.train: 3 images cannot be read:');
    assert.match(lines[1], new RegExp(`^  ${path.join(dir, 'notes.jpg')}: .*unsupported image format`));
    assert.equal(lines[2], `  ${path.join(dir, 'gone.png')}: cannot read the file (ENOENT)`);
    assert.match(lines[3], new RegExp(`^  ${path.join(dir, 'cut.jpg')}: .*premature end of JPEG`, 'i'));
    assert.match(lines[4], /set "skipUnreadable": true in the experiment's settings/);
    assert.equal(lines.length, 5);
    return true;
  });
  const again = await encodeImages(
    good.map((i) => paths[i]),
    [meanColour],
    { cache, batchSize: 2 },
  );
  assert.deepEqual([again.encoded, again.cached], [0, 3]);
});

test('with skipUnreadable the bad rows are left out and every kept row has its own vector', async () => {
  const { dir, paths, good } = await world();
  const cache = new EmbeddingCache(path.join(dir, 'cache'));
  const r = await encodeImages(paths, [meanColour], { cache, batchSize: 2, skipUnreadable: true });
  assert.deepEqual(r.kept, good);
  assert.deepEqual(
    r.unreadable.map((u) => path.basename(u.path)),
    ['notes.jpg', 'gone.png', 'cut.jpg'],
  );
  assert.deepEqual([r.encoded, r.cached], [3, 0]);
  assert.equal(r.outputs[0].length, 9);
  COLOURS.forEach((c, row) => {
    // JPEG at quality 100 moves a solid colour by at most a level or two
    for (let ch = 0; ch < 3; ch++) assert.ok(Math.abs(r.outputs[0][row * 3 + ch] * 255 - c[ch]) <= 2, `row ${row} channel ${ch}`);
  });
});

test('more than 20 unreadable files: the first 20 and a count of the rest', async () => {
  const dir = tempDir();
  await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 1, g: 2, b: 3 } } })
    .png()
    .toFile(path.join(dir, 'good.png'));
  const paths = [
    path.join(dir, 'good.png'),
    ...Array.from({ length: 25 }, (_, i) => path.join(dir, `missing-${String(i).padStart(2, '0')}.png`)),
  ];
  await assert.rejects(
    encodeImages(paths, [meanColour], { cache: new EmbeddingCache(path.join(dir, 'cache')), batchSize: 8, source: 'data.captions' }),
    (err: Error) => {
      assert.match(err.message, /^data\.captions: 25 images cannot be read:\n/);
      assert.ok(err.message.includes('missing-19.png: cannot read the file (ENOENT)'));
      assert.ok(!err.message.includes('missing-20.png'));
      assert.match(err.message, /\n {2}\.\.\. and 5 more\n/);
      return true;
    },
  );
});

test('when no file can be read, skipUnreadable does not leave an empty split: it is an error', async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'a.jpg'), 'text');
  fs.writeFileSync(path.join(dir, 'b.jpg'), 'text');
  const paths = ['a.jpg', 'b.jpg'].map((n) => path.join(dir, n));
  await assert.rejects(
    encodeImages(paths, [meanColour], {
      cache: new EmbeddingCache(path.join(dir, 'cache')),
      batchSize: 4,
      skipUnreadable: true,
      source: 'data.val',
    }),
    /^InputError: data\.val: none of the 2 images can be read:\n {2}\S+a\.jpg: .*\n {2}\S+b\.jpg: .*\nCheck that the paths point at image files\.$/,
  );
});

test('a batch is run in chunks of INFERENCE_CHUNK rows, each row keeping its own vector', async () => {
  const dir = tempDir();
  const n = INFERENCE_CHUNK * 2 + 3;
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = path.join(dir, `${i}.png`);
    await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: i * 10, g: 255 - i * 10, b: 7 } } })
      .png()
      .toFile(p);
    paths.push(p);
  }
  const calls: number[] = [];
  const counting: ImageEncoder = { ...meanColour, namespace: 'chunk-test', run: (pixels, k) => (calls.push(k), meanColour.run(pixels, k)) };
  const r = await encodeImages(paths, [counting], { cache: new EmbeddingCache(path.join(dir, 'cache')), batchSize: n });
  assert.ok(
    calls.every((k) => k <= INFERENCE_CHUNK),
    `calls of ${calls.join(', ')} rows`,
  );
  assert.equal(
    calls.reduce((s, k) => s + k, 0),
    n,
  );
  for (let i = 0; i < n; i++) {
    const got = Array.from(r.outputs[0].subarray(i * 3, i * 3 + 3), (v) => Math.round(v * 255));
    assert.deepEqual(got, [i * 10, 255 - i * 10, 7], `row ${i}`);
  }
});
