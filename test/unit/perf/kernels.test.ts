// Correctness of the performance paths: the two-class cross-entropy kernel and encodeImages'
// batch boundaries (a short first batch) with the cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { crossEntropyGrad } from '../../../src/engine/math/linearHead';
import { encodeImages, type ImageEncoder } from '../../../src/engine/images/encodeImages';
import { EmbeddingCache } from '../../../src/engine/cache';
import { createRng } from '../../../src/engine/math/rng';
import { tempDir } from '../../helpers/paths';

test('two-class cross-entropy gradient equals the textbook formula', () => {
  const rng = createRng(9);
  const n = 7,
    dim = 33;
  const head = { weight: Float64Array.from({ length: 2 * dim }, () => rng.normal()), bias: Float64Array.from([0.3, -0.2]) };
  const x = Float32Array.from({ length: n * dim }, () => rng.normal());
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  const gW = new Float64Array(2 * dim),
    gb = new Float64Array(2);
  const loss = crossEntropyGrad(head, x, y, n, dim, 2, gW, gb, new Float64Array(2));
  const eW = new Float64Array(2 * dim),
    eb = new Float64Array(2);
  let eLoss = 0;
  for (let i = 0; i < n; i++) {
    const z = [0, 1].map((c) => {
      let s = head.bias[c];
      for (let j = 0; j < dim; j++) s += head.weight[c * dim + j] * x[i * dim + j];
      return s;
    });
    const p = z.map((v) => Math.exp(v) / (Math.exp(z[0]) + Math.exp(z[1])));
    eLoss -= Math.log(p[y[i]]) / n;
    for (let c = 0; c < 2; c++) {
      const g = (p[c] - (c === y[i] ? 1 : 0)) / n;
      eb[c] += g;
      for (let j = 0; j < dim; j++) eW[c * dim + j] += g * x[i * dim + j];
    }
  }
  assert.ok(Math.abs(loss - eLoss) < 1e-12);
  for (let i = 0; i < eW.length; i++) assert.ok(Math.abs(gW[i] - eW[i]) < 1e-12);
  for (let c = 0; c < 2; c++) assert.ok(Math.abs(gb[c] - eb[c]) < 1e-12);
  assert.throws(
    () => crossEntropyGrad(head, x, Int32Array.from([2, 0, 0, 0, 0, 0, 0]), n, dim, 2, gW, gb, new Float64Array(2)),
    /Label 2 at row 0/,
  );
});

test('encodeImages: every batch split gives rows in input order, and a rerun comes from the cache', async () => {
  const dir = tempDir('tldr-enc-');
  try {
    const paths: string[] = [];
    for (let i = 0; i < 11; i++) {
      const p = path.join(dir, `img${i}.${i % 2 ? 'png' : 'jpg'}`);
      const px = Buffer.alloc(24 * 20 * 3, (i * 23) % 256);
      const img = sharp(px, { raw: { width: 24, height: 20, channels: 3 } });
      await (i % 2 ? img.png() : img.jpeg({ quality: 95 })).toFile(p);
      paths.push(p);
    }
    const batches: number[] = [];
    // dim 3: the mean of each channel plane, which identifies the image
    const encoder: ImageEncoder = {
      name: 'means',
      namespace: 'means-v1',
      dim: 3,
      preprocessing: { resize: 8, crop: 8, mean: [0, 0, 0], std: [1, 1, 1], rescale: 1 / 255 },
      async run(pixels, n) {
        batches.push(n);
        const out = new Float32Array(n * 3);
        for (let r = 0; r < n; r++)
          for (let c = 0; c < 3; c++) {
            let s = 0;
            for (let k = 0; k < 64; k++) s += pixels[r * 192 + c * 64 + k];
            out[r * 3 + c] = s / 64;
          }
        return out;
      },
    };
    const progress: number[] = [];
    const cache = new EmbeddingCache(path.join(dir, 'cache'));
    const cold = await encodeImages(paths, [encoder], { cache, batchSize: 4, onProgress: (done) => progress.push(done) });
    assert.deepEqual(batches, [1, 4, 4, 2], 'a short first batch, then full ones');
    assert.deepEqual(progress, [1, 5, 9, 11]);
    assert.equal(cold.encoded, 11);
    const one = await encodeImages(paths, [encoder], { cache: new EmbeddingCache(path.join(dir, 'cache1')), batchSize: 1 });
    assert.deepEqual(Array.from(cold.outputs[0]), Array.from(one.outputs[0]));
    for (let i = 0; i < 11; i++) assert.ok(Math.abs(cold.outputs[0][i * 3] - ((i * 23) % 256) / 255) < 0.02, `row ${i}`);
    batches.length = 0;
    const warm = await encodeImages(paths, [encoder], { cache, batchSize: 4 });
    assert.equal(warm.cached, 11);
    assert.deepEqual(batches, []);
    assert.deepEqual(Array.from(warm.outputs[0]), Array.from(cold.outputs[0]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
