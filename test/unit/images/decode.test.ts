// decodeImage against what PIL's Image.open(f).convert('RGB') gives (torchvision's default loader),
// on committed fixtures whose PIL pixels were recorded by tools/fixtures/pil_rgb.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage, UnreadableImageError } from '../../../src/engine/images/preprocess';
import { repoRoot } from '../../helpers/paths';

interface PilImage {
  mode: string;
  size: [number, number];
  rgb: number[];
  samples?: number[];
  transparent?: number[];
  exifTransposed?: { size: [number, number]; rgb: number[] };
}
const DIR = path.join(repoRoot, 'test', 'fixtures', 'images');
const pil = (JSON.parse(fs.readFileSync(path.join(DIR, 'pil.json'), 'utf8')) as { images: Record<string, PilImage> }).images;
const bytes = (name: string) => fs.readFileSync(path.join(DIR, name));

async function decodedLikePil(name: string, mode: string): Promise<void> {
  const ref = pil[name];
  assert.equal(ref.mode, mode, `${name} is a PIL ${mode} image`);
  const img = await decodeImage(bytes(name), name);
  assert.deepEqual([img.width, img.height], ref.size);
  assert.deepEqual([...img.data], ref.rgb);
}

test('8-bit RGB JPEG: the same pixels as PIL', () => decodedLikePil('rgb.jpg', 'RGB'));
test('grayscale PNG: grey copied to three channels, as PIL', () => decodedLikePil('gray.png', 'L'));
test('grey + alpha PNG: alpha dropped, as PIL', () => decodedLikePil('gray-alpha.png', 'LA'));
test('palette PNG: palette colours, as PIL', () => decodedLikePil('palette.png', 'P'));
test('RGBA PNG: alpha dropped, not composited: the stored colour of transparent pixels stays, as PIL', async () => {
  await decodedLikePil('rgba.png', 'RGBA');
  // pixel 0 has alpha 0 and colour (0, 40, 200): compositing on white or black would change it
  assert.deepEqual(pil['rgba.png'].rgb.slice(0, 3), [0, 40, 200]);
});
test('RGBA WebP (lossless): alpha dropped, as PIL', () => decodedLikePil('rgba.webp', 'RGBA'));
test('lossy WebP: the same pixels as PIL', () => decodedLikePil('lossy.webp', 'RGB'));
test('16-bit RGB PNG: top 8 bits of each sample, as PIL', async () => {
  assert.equal((await sharp(bytes('rgb16.png')).metadata()).depth, 'ushort');
  await decodedLikePil('rgb16.png', 'RGB');
});
test('CMYK JPEG: PIL formula (255 - K)(255 - C)/255, value for value', async () => {
  assert.equal((await sharp(bytes('cmyk.jpg')).metadata()).space, 'cmyk');
  await decodedLikePil('cmyk.jpg', 'CMYK');
});
test('PNG with a Display P3 profile: the profile is ignored, as PIL', async () => {
  assert.ok((await sharp(bytes('display-p3.png')).metadata()).icc, 'the fixture carries an ICC profile');
  await decodedLikePil('display-p3.png', 'RGB');
});
test('GIF with two frames: the first frame, as PIL', async () => {
  assert.equal((await sharp(bytes('two-frames.gif')).metadata()).pages, 2);
  await decodedLikePil('two-frames.gif', 'P');
  // the second frame is all white; the first has no white pixel
  assert.ok(!pil['two-frames.gif'].rgb.every((v) => v === 255));
});

test('16-bit grey PNG: top 8 bits of each sample (PIL clips these to 255)', async () => {
  const ref = pil['gray16.png'];
  assert.equal(ref.mode, 'I');
  const img = await decodeImage(bytes('gray16.png'), 'gray16.png');
  assert.deepEqual(
    [...img.data],
    ref.samples!.flatMap((v) => [v >> 8, v >> 8, v >> 8]),
  );
  // PIL's convert('RGB') clips every sample at 255: 126 of these 128 pixels come out white
  assert.deepEqual(
    ref.rgb,
    ref.samples!.flatMap((v) => Array(3).fill(Math.min(v, 255))),
  );
  assert.equal(ref.samples!.filter((v) => v > 255).length, 126);
});

test('GIF with a transparent index: opaque pixels as PIL, transparent ones black', async () => {
  const ref = pil['transparent.gif'];
  const img = await decodeImage(bytes('transparent.gif'), 'transparent.gif');
  const mask = ref.transparent!;
  assert.equal(mask.filter((t) => t).length, 68, '68 of the 128 pixels are transparent');
  mask.forEach((t, i) => {
    const got = [...img.data.subarray(i * 3, i * 3 + 3)];
    assert.deepEqual(got, t ? [0, 0, 0] : ref.rgb.slice(i * 3, i * 3 + 3), `pixel ${i}`);
  });
});

test('EXIF orientation 6: ignored by default (as PIL and torchvision), applied on request (as ImageOps.exif_transpose)', async () => {
  const ref = pil['exif6.jpg'];
  assert.equal((await sharp(bytes('exif6.jpg')).metadata()).orientation, 6);
  await decodedLikePil('exif6.jpg', 'RGB');
  const turned = await decodeImage(bytes('exif6.jpg'), 'exif6.jpg', { exifOrientation: 'apply' });
  assert.deepEqual([turned.width, turned.height], [8, 16]);
  assert.deepEqual(ref.exifTransposed!.size, [8, 16]);
  assert.deepEqual([...turned.data], ref.exifTransposed!.rgb);
});

test('unreadable bytes fail with the file and the decoder reason', async () => {
  const jpeg = bytes('rgb.jpg');
  const png = bytes('gray16.png');
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty.jpg', new Uint8Array(0), /empty/i],
    ['notes.jpg', Buffer.from('not an image at all'), /unsupported image format/],
    ['half.jpg', jpeg.subarray(0, jpeg.length >> 1), /premature end of JPEG/i],
    ['half.png', png.subarray(0, png.length >> 1), /libpng read error/],
    ['old.bmp', Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]), /unsupported image format/],
  ];
  for (const [name, data, reason] of cases) {
    await assert.rejects(decodeImage(data, `/data/${name}`), (err: Error) => {
      assert.ok(err instanceof UnreadableImageError, name);
      assert.equal(err.file, `/data/${name}`);
      assert.match(err.reason, reason);
      assert.match(err.message, new RegExp(`^/data/${name.replace('.', '\\.')}: cannot read this image \\(`));
      return true;
    });
  }
});
