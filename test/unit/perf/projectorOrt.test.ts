// The onnxruntime path of the projector (fitProjectorAsync) must give the TypeScript kernels'
// result: sizes chosen above ORT_MIN_MADDS so both onnxruntime graphs run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fitProjector,
  fitProjectorAsync,
  project,
  projectorFromMomentsAsync,
  projectorMomentsAsync,
} from '../../../src/engine/math/projector';
import { ORT_MIN_MADDS } from '../../../src/engine/math/ortLinalg';
import { buildTextSet } from '../../../src/engine/text/textSet';
import { createRng } from '../../../src/engine/math/rng';

const relErr = (a: Float64Array, ref: Float64Array) => {
  let s = 0,
    r = 0;
  for (let i = 0; i < ref.length; i++) {
    s += (a[i] - ref[i]) ** 2;
    r += ref[i] ** 2;
  }
  return Math.sqrt(s / r);
};

test('fitProjectorAsync (onnxruntime products) equals fitProjector to 1e-10', async () => {
  const n = 300,
    d = 160,
    D = 2048;
  assert.ok(n * d * (d + D) >= ORT_MIN_MADDS && d * d * D >= ORT_MIN_MADDS, 'sizes must exercise both onnxruntime graphs');
  const rng = createRng(3);
  const X = Float64Array.from({ length: n * d }, () => rng.normal() + 0.2);
  const Y = Float64Array.from({ length: n * D }, () => Math.max(0, rng.normal()));
  const G = Float64Array.from({ length: d }, () => rng.normal());
  for (const [g, k] of [
    [G, 1],
    [null, 0],
  ] as const) {
    const ref = fitProjector(X, Y, n, d, D, g, k, 2);
    const got = await fitProjectorAsync(X, Y, n, d, D, g, k, 2);
    assert.ok(relErr(got.W, ref.W) < 1e-10, `W: ${relErr(got.W, ref.W)}`);
    assert.ok(relErr(got.b, ref.b) < 1e-10, `b: ${relErr(got.b, ref.b)}`);
  }
});

test('moments computed once serve every lambda', async () => {
  const n = 50,
    d = 8,
    D = 12;
  const rng = createRng(4);
  const X = Float64Array.from({ length: n * d }, () => rng.normal());
  const Y = Float64Array.from({ length: n * D }, () => rng.normal());
  const m = await projectorMomentsAsync(X, Y, n, d, D);
  for (const lambda of [0.1, 10]) {
    const ref = fitProjector(X, Y, n, d, D, null, 0, lambda);
    const got = await projectorFromMomentsAsync(m, null, 0, lambda);
    assert.ok(relErr(got.W, ref.W) < 1e-12);
  }
});

test('fitProjectorAsync refuses what fitProjector refuses', async () => {
  await assert.rejects(fitProjectorAsync(new Float64Array(0), new Float64Array(0), 0, 2, 2, null, 0, 1), /no training rows/);
  await assert.rejects(fitProjectorAsync(new Float64Array(4), new Float64Array(4), 2, 2, 2, null, 0, -1), /lambda must be >= 0/);
});

test("the text set's projection through onnxruntime (above ORT_MIN_MADDS, several row blocks) equals the TypeScript kernel", async () => {
  const T = 3,
    d = 128,
    D = 256,
    words = 2200 / T;
  const rows = Math.ceil(words) * T;
  assert.ok(rows * d * D >= ORT_MIN_MADDS && rows > 2048, 'sizes must take the onnxruntime path with more than one block');
  const rng = createRng(5);
  const embeddings = Float32Array.from({ length: rows * d }, () => rng.normal());
  const W = Float64Array.from({ length: d * D }, () => rng.normal() * 0.1);
  const b = Float64Array.from({ length: D }, () => rng.normal() * 0.1);
  const ids = Array.from({ length: rows / T }, (_, i) => i);
  const half = ids.length >> 1;
  const inputs = {
    targets: [ids.slice(0, half)],
    spurious: [ids.slice(half)],
    embeddings,
    templates: T,
    d,
    W,
    b,
    D,
    relu: true,
    normalize: false,
  };
  const big = await buildTextSet(inputs);
  const [batch] = [...big.sampleEpoch(0, { mode: 'balanced-with-replacement', examples: 64, batchSize: 64, augment: true, seed: 2 })];
  // every drawn example is (U_t + U_s) / 2 + b through ReLU for one (target, spurious, template): check
  // each against the TypeScript kernel's projection of the same mean embedding
  const U = project(embeddings, rows, W, new Float64Array(D), d, D, false);
  let matched = 0;
  for (let i = 0; i < batch!.n; i++) {
    const x = batch!.x.subarray(i * D, (i + 1) * D);
    search: for (let t = 0; t < half; t++)
      for (let s = half; s < ids.length; s++)
        for (let k = 0; k < T; k++) {
          const a = (t * T + k) * D,
            c = (s * T + k) * D;
          let ok = true;
          for (let j = 0; j < D && ok; j++) ok = Math.abs(Math.max(0, (U[a + j] + U[c + j]) * 0.5 + b[j]) - x[j]) < 1e-5;
          if (ok) {
            matched++;
            break search;
          }
        }
  }
  assert.equal(matched, batch!.n);
});
