import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTextSet, type TextSet } from '../../../src/engine/text/textSet';
import { project } from '../../../src/engine/math/projector';
import { createRng } from '../../../src/engine/math/rng';
import { OPENAI_IMAGENET_TEMPLATES } from '../../../src/engine/text/templates';

const epochOf = (set: TextSet, epoch: number, o: Parameters<TextSet['sampleEpoch']>[1]) => [...set.sampleEpoch(epoch, o)];

async function fixture(normalize: boolean) {
  const rng = createRng(3);
  const d = 6,
    D = 5,
    T = 3,
    words = 5;
  const embeddings = Float32Array.from({ length: words * T * d }, () => rng.normal());
  const W = Float64Array.from({ length: d * D }, () => rng.normal());
  const b = Float64Array.from({ length: D }, () => rng.normal());
  // class 0: words 0,1; class 1: word 2; spurious 0: word 3; spurious 1: word 4
  const set = await buildTextSet({
    targets: [[0, 1], [2]],
    spurious: [[3], [4]],
    embeddings,
    templates: T,
    d,
    W,
    b,
    D,
    relu: true,
    normalize,
  });
  return { set, embeddings, W, b, d, D, T };
}

test('the 80 OpenAI templates are distinct and each holds one {}', () => {
  assert.equal(OPENAI_IMAGENET_TEMPLATES.length, 80);
  assert.equal(new Set(OPENAI_IMAGENET_TEMPLATES).size, 80);
  for (const t of OPENAI_IMAGENET_TEMPLATES) assert.equal(t.split('{}').length, 2, t);
});

test('groups are the product of class and spurious value, sized |T_c| x |S_s|', async () => {
  const { set } = await fixture(false);
  assert.deepEqual(set.groups, [
    { label: 0, spurious: 0, pairs: 2 },
    { label: 0, spurious: 1, pairs: 2 },
    { label: 1, spurious: 0, pairs: 1 },
    { label: 1, spurious: 1, pairs: 1 },
  ]);
});

for (const normalize of [false, true]) {
  test(`every example equals P(mean of its two words under one template) (normalize ${normalize})`, async () => {
    const { set, embeddings, W, b, d, D, T } = await fixture(normalize);
    const [batch] = epochOf(set, 0, { mode: 'downsample', examples: 0, batchSize: 100, augment: true, seed: 1 });
    // every example must match one (target, spurious, shared template) combination exactly
    const unit = (v: Float32Array) => {
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const candidates: { y: number; p: Float32Array }[] = [];
    for (const [t, y] of [
      [0, 0],
      [1, 0],
      [2, 1],
    ])
      for (const s of [3, 4])
        for (let k = 0; k < T; k++) {
          let et = embeddings.slice((t * T + k) * d, (t * T + k + 1) * d);
          let es = embeddings.slice((s * T + k) * d, (s * T + k + 1) * d);
          if (normalize) {
            et = unit(et);
            es = unit(es);
          }
          let x = et.map((v, j) => (v + es[j]) / 2);
          if (normalize) x = unit(x);
          candidates.push({ y, p: project(x, 1, W, b, d, D, true) });
        }
    for (let i = 0; i < batch.n; i++) {
      const row = batch.x.subarray(i * D, (i + 1) * D);
      const match = candidates.find((c) => c.p.every((v, j) => Math.abs(v - row[j]) < 1e-4));
      assert.ok(match, `example ${i} is not a projected word pair`);
      assert.equal(match.y, batch.y[i]);
    }
  });
}

test('downsampling gives every group the smallest group size; balanced sampling gives equal shares', async () => {
  const { set } = await fixture(false);
  const count = (batches: { y: Int32Array; n: number }[]) => batches.reduce((s, b) => s + b.n, 0);
  const down = epochOf(set, 0, { mode: 'downsample', examples: 0, batchSize: 3, augment: false, seed: 1 });
  assert.equal(count(down), 4); // 4 groups x min size 1
  const bal = epochOf(set, 0, { mode: 'balanced-with-replacement', examples: 400, batchSize: 64, augment: true, seed: 1 });
  assert.equal(count(bal), 400);
  const perClass = [0, 0];
  for (const b of bal) b.y.forEach((y) => perClass[y]++);
  assert.deepEqual(perClass, [200, 200]);
});

test('sampling is seeded: same seed and epoch, same batches; another epoch differs', async () => {
  const { set } = await fixture(false);
  const o = { mode: 'balanced-with-replacement' as const, examples: 64, batchSize: 16, augment: true, seed: 9 };
  assert.deepEqual(epochOf(set, 2, o), epochOf(set, 2, o));
  assert.notDeepEqual(epochOf(set, 2, o)[0].x, epochOf(set, 3, o)[0].x);
});
