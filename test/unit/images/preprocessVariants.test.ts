// preprocessor_config.json as exports write it (size and crop_size as numbers or objects,
// do_resize, do_center_crop, do_rescale, do_normalize, resample), the fixture variants from
// tools/fixtures/make_clip_exports.py, and what each setting does to the pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import {
  preprocessInto,
  preprocessingKey,
  readClipPreprocessing,
  type DecodedImage,
  type ImagePreprocessing,
} from '../../../src/engine/images/preprocess';
import { repoRoot } from '../../helpers/paths';

const DIR = path.join(repoRoot, 'test', 'fixtures', 'clip', 'preprocessor');
const file = (name: string) => path.join(DIR, name);
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

test('preprocessor_config.json variants parse to the processor they describe', () => {
  const clip: ImagePreprocessing = {
    resizeMode: 'shortest-edge',
    resize: 224,
    crop: 224,
    resample: 'bicubic',
    mean: CLIP_MEAN as ImagePreprocessing['mean'],
    std: CLIP_STD as ImagePreprocessing['std'],
    rescale: 1 / 255,
  };
  assert.deepEqual(readClipPreprocessing(file('clip.json')), clip);
  assert.deepEqual(readClipPreprocessing(file('clip-numbers.json')), clip, 'size and crop_size as numbers: the same processor');
  assert.deepEqual(readClipPreprocessing(file('vit-bilinear.json')), {
    ...clip,
    resizeMode: 'exact',
    resample: 'bilinear',
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
  });
  assert.deepEqual(readClipPreprocessing(file('no-center-crop.json')), {
    ...clip,
    resizeMode: 'exact',
    resize: 196,
    crop: 196,
    resample: 'bilinear',
  });
  assert.deepEqual(readClipPreprocessing(file('no-resize.json')), { ...clip, resizeMode: 'none', resize: 160, crop: 160 });
  assert.deepEqual(readClipPreprocessing(file('raw-pixels.json')), { ...clip, mean: [0, 0, 0], std: [1, 1, 1], rescale: 1 });
});

test('configs that cannot be batched or use another filter are refused with the reason and the setting', () => {
  assert.throws(
    () => readClipPreprocessing(file('no-crop-shortest-edge.json')),
    /no-crop-shortest-edge\.json: without a centre crop \(do_center_crop false\) images resized by their shortest edge keep their own shapes and cannot be batched\..*models\.clip\.preprocessor/,
  );
  assert.throws(
    () => readClipPreprocessing(file('non-square.json')),
    /non-square\.json: crop_size is 224x256 \(height x width\); only square model inputs/,
  );
  assert.throws(
    () => readClipPreprocessing(file('resample-box.json')),
    /resample-box\.json: resample 4 is not supported; use 2 \(bilinear\) or 3 \(bicubic\)/,
  );
});

/** A w x h RGB image from a per-pixel colour function. */
function image(w: number, h: number, colour: (x: number, y: number) => [number, number, number]): DecodedImage {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(colour(x, y), (y * w + x) * 3);
  return { data, width: w, height: h };
}

async function run(img: DecodedImage, p: ImagePreprocessing): Promise<Float32Array> {
  const out = new Float32Array(3 * p.crop * p.crop);
  await preprocessInto(img, p, out, 0);
  return out;
}

const raw = (over: Partial<ImagePreprocessing>): ImagePreprocessing => ({
  resize: 10,
  crop: 10,
  mean: [0, 0, 0],
  std: [1, 1, 1],
  rescale: 1,
  ...over,
});

test('exact resize squeezes the whole image; shortest edge + crop cuts the sides', async () => {
  // 40 x 20, its left quarter green, the rest grey
  const img = image(40, 20, (x) => (x < 10 ? [0, 255, 0] : [128, 128, 128]));
  const green = (out: Float32Array, x: number) => out[1 * 100 + 5 * 10 + x] - out[0 * 100 + 5 * 10 + x]; // G - R at row 5
  const exact = await run(img, raw({ resizeMode: 'exact' }));
  const shortest = await run(img, raw({ resizeMode: 'shortest-edge' }));
  assert.ok(green(exact, 0) > 200, `exact: column 0 is green (${green(exact, 0)})`);
  assert.ok(Math.abs(green(exact, 9)) < 1, 'exact: column 9 is grey');
  // shortest edge 10 -> 20 x 10, centre crop keeps columns 5..14: the green quarter (0..4) is cut
  for (let x = 0; x < 10; x++) assert.ok(Math.abs(green(shortest, x)) < 20, `shortest: column ${x} is grey (${green(shortest, x)})`);
});

test('no resize: a centre crop, padded with black where the image is smaller', async () => {
  const img = image(6, 20, (x, y) => [10 * x, 10 * y, 77]);
  const out = await run(img, raw({ resizeMode: 'none', resize: 10, crop: 10 }));
  // columns: 6 wide in 10 -> 2 black columns each side; rows: 20 high -> rows 5..14 kept
  const at = (c: number, x: number, y: number) => out[c * 100 + y * 10 + x];
  assert.deepEqual([at(0, 0, 0), at(1, 0, 0), at(2, 0, 0)], [0, 0, 0]);
  assert.deepEqual([at(0, 9, 9), at(2, 9, 9)], [0, 0]);
  assert.deepEqual([at(0, 2, 0), at(1, 2, 0), at(2, 2, 0)], [0, 50, 77], 'first image column, image row 5');
  assert.deepEqual([at(0, 7, 9), at(1, 7, 9)], [50, 140], 'last image column, image row 14');
});

test('resample: bilinear and bicubic give different pixels and different cache keys', async () => {
  const img = image(37, 29, (x, y) => [(x * 53 + y * 17) % 256, (x * x + y * 7) % 256, (x * y) % 256]);
  const p = raw({ resize: 12, crop: 12 });
  const cubic = await run(img, { ...p, resample: 'bicubic' });
  const linear = await run(img, { ...p, resample: 'bilinear' });
  let maxDiff = 0;
  for (let i = 0; i < cubic.length; i++) maxDiff = Math.max(maxDiff, Math.abs(cubic[i] - linear[i]));
  assert.ok(maxDiff > 5, `on a busy image the filters differ by grey levels (${maxDiff})`);
  assert.deepEqual(await run(img, p), cubic, 'bicubic is the default');
  assert.notEqual(preprocessingKey({ ...p, resample: 'bilinear' }), preprocessingKey(p));
  assert.notEqual(preprocessingKey({ ...p, resizeMode: 'exact' }), preprocessingKey(p));
});

test('the default preprocessing keeps the cache key it had, so existing caches stay valid', () => {
  const p: ImagePreprocessing = { resize: 256, crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], rescale: 1 / 255 };
  const before = JSON.stringify([256, 224, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], 1 / 255, 'cubic']);
  assert.equal(preprocessingKey(p), before);
  assert.equal(preprocessingKey({ ...p, resizeMode: 'shortest-edge', resample: 'bicubic' }), before);
});

test('the crop of a resize has the pixels of the same crop cut from the whole resized image', async () => {
  const busy = (w: number, h: number) => image(w, h, (x, y) => [(x * 53 + y * 17) % 256, (x * x + y * 7) % 256, (x * y + 3 * y) % 256]);
  const cases: [string, DecodedImage, ImagePreprocessing][] = [
    ['upscale 48 -> 56, crop 48', busy(48, 48), raw({ resize: 56, crop: 48 })],
    ['downscale 97 x 61 -> shortest edge 32, crop 28', busy(97, 61), raw({ resize: 32, crop: 28, resample: 'bilinear' })],
    ['portrait 31 x 70 -> shortest edge 40, crop 36', busy(31, 70), raw({ resize: 40, crop: 36 })],
    ['exact 50 x 20 -> 16 x 16, crop 20 (padded)', busy(50, 20), raw({ resizeMode: 'exact', resize: 16, crop: 20 })],
  ];
  for (const [name, img, p] of cases) {
    const got = await run(img, p);
    // the reference: the whole resized image from libvips, then the crop cut here
    const w = p.resizeMode === 'exact' ? p.resize : Math.max(p.crop, Math.round((img.width * p.resize) / Math.min(img.width, img.height)));
    const h = p.resizeMode === 'exact' ? p.resize : Math.max(p.crop, Math.round((img.height * p.resize) / Math.min(img.width, img.height)));
    const whole = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .resize(w, h, { kernel: p.resample === 'bilinear' ? 'linear' : 'cubic', fit: 'fill' })
      .raw()
      .toBuffer();
    const left = Math.floor((w - p.crop) / 2);
    const top = Math.floor((h - p.crop) / 2);
    const want = new Float32Array(3 * p.crop * p.crop);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < p.crop; y++)
        for (let x = 0; x < p.crop; x++) {
          const [sx, sy] = [x + left, y + top];
          if (sx >= 0 && sx < w && sy >= 0 && sy < h) want[c * p.crop * p.crop + y * p.crop + x] = whole[(sy * w + sx) * 3 + c];
        }
    assert.deepEqual(got, want, name);
  }
});
