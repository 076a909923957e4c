import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initLinearPytorch, logits, predict, trainLinearHead, type Batch } from '../../../src/engine/math/linearHead';
import { createRng } from '../../../src/engine/math/rng';

/** Three well-separated Gaussian clusters in 6 dimensions. */
function toy(n: number, seed: number, dim = 6, classes = 3) {
  const rng = createRng(seed);
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let j = 0; j < dim; j++) x[i * dim + j] = (j === y[i] ? 4 : 0) + 0.5 * rng.normal();
  }
  return { x, y, n, dim, classes };
}

function batches(data: { x: Float32Array; y: Int32Array; n: number; dim: number }, size: number): Batch[] {
  const out: Batch[] = [];
  for (let s = 0; s < data.n; s += size) {
    const e = Math.min(data.n, s + size);
    out.push({ x: data.x.subarray(s * data.dim, e * data.dim), y: data.y.subarray(s, e), n: e - s });
  }
  return out;
}

const accuracy = (p: Int32Array, y: Int32Array) => p.reduce((a, v, i) => a + (v === y[i] ? 1 : 0), 0) / y.length;

test('AdamW and SGD reach full accuracy on separable data and the loss falls', async () => {
  const data = toy(300, 1);
  const test = toy(300, 2);
  for (const optimizer of ['adamw', 'sgd'] as const) {
    const head = await trainLinearHead({
      dim: data.dim,
      classes: 3,
      optimizer,
      lr: optimizer === 'adamw' ? 0.05 : 0.1,
      weightDecay: 1e-4,
      epochs: 20,
      seed: 3,
      nextEpoch: () => batches(data, 32),
    });
    assert.equal(head.losses.length, 20);
    assert.ok(head.losses[19] < head.losses[0] / 5, `${optimizer}: ${head.losses[0]} -> ${head.losses[19]}`);
    assert.equal(accuracy(predict(head.weight, head.bias, test.x, test.n, test.dim, 3), test.y), 1, optimizer);
  }
});

test('training is bit-for-bit deterministic for a seed, and the seed matters', async () => {
  const data = toy(120, 4);
  const run = (seed: number) =>
    trainLinearHead({
      dim: data.dim,
      classes: 3,
      optimizer: 'adamw',
      lr: 0.01,
      weightDecay: 1e-2,
      epochs: 3,
      seed,
      schedule: 'cosine',
      nextEpoch: () => batches(data, 16),
    });
  const [a, b, c] = [await run(7), await run(7), await run(8)];
  assert.deepEqual(Buffer.from(a.weight.buffer), Buffer.from(b.weight.buffer));
  assert.deepEqual(Buffer.from(a.bias.buffer), Buffer.from(b.bias.buffer));
  assert.notDeepEqual(Buffer.from(a.weight.buffer), Buffer.from(c.weight.buffer));
});

test('PyTorch init draws weight and bias from U(-1/sqrt(dim), 1/sqrt(dim))', () => {
  const dim = 400;
  const { weight, bias } = initLinearPytorch(dim, 5, 1);
  const bound = 1 / Math.sqrt(dim);
  const all = [...weight, ...bias];
  assert.ok(all.every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...all) > 0.95 * bound && Math.min(...all) < -0.95 * bound);
});

// Expected values: torch's documented AdamW / SGD algorithms written out independently in numpy
// for this batch (W = [[.1,-.2],[.3,.4]], b = [.05,-.05], lr .1, wd .01), two steps on one batch.
const tiny = {
  init: { weight: Float64Array.from([0.1, -0.2, 0.3, 0.4]), bias: Float64Array.from([0.05, -0.05]) },
  batch: { x: Float32Array.from([1, 2, -1, 0.5]), y: Int32Array.from([0, 1]), n: 2 },
};
const close = (a: ArrayLike<number>, b: number[], tol = 1e-12) =>
  b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) < tol, `index ${i}: ${a[i]} vs ${v}`));

test('AdamW steps match torch.optim.AdamW, decoupled decay on weight and bias', async () => {
  const losses: number[] = [];
  const run = (epochs: number) =>
    trainLinearHead({
      dim: 2,
      classes: 2,
      optimizer: 'adamw',
      lr: 0.1,
      weightDecay: 0.01,
      epochs,
      seed: 0,
      init: tiny.init,
      nextEpoch: () => [tiny.batch],
      onEpoch: (_, l) => losses.push(l),
    });
  const one = await run(1);
  close(one.weight, [0.19989999844459055, -0.099800001513237, 0.1997000015554094, 0.299600001513237]);
  close(one.bias, [0.14994999300295642, -0.14994999300295642]);
  close(losses, [1.1170778171964688]);
  const two = await run(2);
  close(two.weight, [0.2992412549788507, -0.0015322327605222091, 0.09995914502114928, 0.20113243276052223]);
  close(two.bias, [0.2371993198747435, -0.2371993198747435]);
  close(two.losses, [1.1170778171964688, 0.8588323268110776]);
  assert.equal(tiny.init.weight[0], 0.1, 'init must not be modified');
});

test('SGD steps match torch.optim.SGD with momentum 0.9 and L2 decay', async () => {
  const out = await trainLinearHead({
    dim: 2,
    classes: 2,
    optimizer: 'sgd',
    lr: 0.1,
    weightDecay: 0.01,
    epochs: 2,
    seed: 0,
    init: tiny.init,
    nextEpoch: () => [tiny.batch],
  });
  close(out.weight, [0.2816882885607996, -0.015591533790645623, 0.11715211143920035, 0.21501173379064564]);
  close(out.bias, [0.08773106983100376, -0.08773106983100376]);
});

test('an abort stops training with an AbortError, between batches or from a timer', { timeout: 60_000 }, async () => {
  const data = toy(64, 5);
  // aborted between batches: no further batch is consumed
  const ac = new AbortController();
  let pulled = 0;
  function* epoch() {
    for (const b of batches(data, 8)) {
      pulled++;
      if (pulled === 3) ac.abort();
      yield b;
    }
  }
  await assert.rejects(
    trainLinearHead({
      dim: data.dim,
      classes: 3,
      optimizer: 'adamw',
      lr: 0.01,
      weightDecay: 0,
      epochs: 5,
      seed: 1,
      nextEpoch: epoch,
      signal: ac.signal,
    }),
    (e: Error) => e.name === 'AbortError',
  );
  assert.equal(pulled, 3);
  // aborted from a timer while a very long run is in progress: the trainer must yield to the event
  // loop, or the timer never fires and the run of 1e9 epochs hangs (the test's timeout catches that)
  const ac2 = new AbortController();
  let epochsStarted = 0;
  setTimeout(() => ac2.abort(), 50);
  await assert.rejects(
    trainLinearHead({
      dim: data.dim,
      classes: 3,
      optimizer: 'sgd',
      lr: 0.01,
      weightDecay: 0,
      epochs: 1e9,
      seed: 1,
      nextEpoch: () => {
        epochsStarted++;
        return batches(data, 8);
      },
      signal: ac2.signal,
    }),
    (e: Error) => e.name === 'AbortError',
  );
  assert.ok(epochsStarted >= 1, `the run was under way when the timer aborted it (${epochsStarted} epochs)`);
  const atAbort = epochsStarted;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(epochsStarted, atAbort, 'no epoch starts after the abort');
});

test('logits and predict: X W^T + b, ties go to the first class', () => {
  const W = Float64Array.from([1, 0, 0, 1]);
  const b = Float64Array.from([0, 0.5]);
  const X = Float32Array.from([2, 1, 0, 0, 1, 0.5]);
  assert.deepEqual([...logits(W, b, X, 3, 2, 2)], [2, 1.5, 0, 0.5, 1, 1]);
  assert.deepEqual([...predict(W, b, X, 3, 2, 2)], [0, 1, 0]);
});
