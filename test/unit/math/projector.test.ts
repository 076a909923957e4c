import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fitProjector, project } from '../../../src/engine/math/projector';
import { cholesky, choleskyInverse, gramTN, matMul, matTN } from '../../../src/engine/math/matrix';
import { createRng } from '../../../src/engine/math/rng';

interface Case {
  name: string;
  lambda: number;
  k: number;
  G: number[];
  W: number[];
  b: number[];
}
interface Fixture {
  N: number;
  d: number;
  D: number;
  X: number[];
  Y: number[];
  cases: Case[];
}

// compiled to out/test/unit/math; the fixture stays in the source tree
const fixture = JSON.parse(readFileSync(resolve(__dirname, '../../../../test/fixtures/projector/reference.json'), 'utf8')) as Fixture;

const norm = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
};
const relErr = (a: ArrayLike<number>, ref: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < ref.length; i++) s += (a[i] - ref[i]) ** 2;
  return Math.sqrt(s) / norm(ref);
};
const random = (n: number, seed: number, shift = 0) => {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => rng.normal() + shift);
};

test('projector equals the numpy reference for every fixture case', () => {
  const { N, d, D } = fixture;
  const X = Float64Array.from(fixture.X);
  const Y = Float64Array.from(fixture.Y);
  assert.equal(fixture.cases.length, 3);
  for (const c of fixture.cases) {
    const G = c.k > 0 ? Float64Array.from(c.G) : null;
    const { W, b } = fitProjector(X, Y, N, d, D, G, c.k, c.lambda);
    assert.equal(W.length, d * D);
    assert.ok(relErr(W, c.W) < 1e-6, `${c.name}: W relative error ${relErr(W, c.W)}`);
    assert.ok(relErr(b, c.b) < 1e-6, `${c.name}: b relative error ${relErr(b, c.b)}`);
    if (G) {
      const GW = matMul(G, W, c.k, d, D);
      const rel = norm(GW) / (norm(G) * norm(W));
      assert.ok(rel < 1e-9, `${c.name}: ||G W|| / (||G|| ||W||) = ${rel}`);
    }
  }
});

test('the constraint makes the projection blind to the gap direction', () => {
  const { N, d, D } = fixture;
  const c = fixture.cases.find((x) => x.name === 'mean-gap')!;
  const G = Float64Array.from(c.G);
  const { W, b } = fitProjector(Float64Array.from(fixture.X), Float64Array.from(fixture.Y), N, d, D, G, 1, c.lambda);
  const m = 5;
  const E = random(m * d, 7);
  const shifted = E.map((v, i) => v + 3 * G[i % d]);
  for (const relu of [false, true]) {
    const p0 = project(E, m, W, b, d, D, relu);
    const p1 = project(shifted, m, W, b, d, D, relu);
    assert.ok(relErr(p1, p0) < 1e-6, `relu=${relu}: ${relErr(p1, p0)}`);
  }
  // without the constraint the same shift does move the projection (the test above can fail)
  const ridge = fitProjector(Float64Array.from(fixture.X), Float64Array.from(fixture.Y), N, d, D, null, 0, c.lambda);
  assert.ok(relErr(project(shifted, m, ridge.W, ridge.b, d, D, false), project(E, m, ridge.W, ridge.b, d, D, false)) > 1e-3);
});

test('project computes E W + b, with ReLU when asked, from Float32 or Float64 input', () => {
  const d = 3,
    D = 2;
  const W = Float64Array.from([1, -1, 2, 0, 0, 3]); // 3 x 2
  const b = Float64Array.from([0.5, -10]);
  const E = Float32Array.from([1, 2, 3, -1, 0, 1]); // 2 x 3
  assert.deepEqual([...project(E, 2, W, b, d, D, false)], [5.5, -2, -0.5, -6]);
  assert.deepEqual([...project(Float64Array.from(E), 2, W, b, d, D, true)], [5.5, 0, 0, 0]);
});

test('blocked products and Cholesky inverse agree with naive loops on odd sizes', () => {
  // sizes that are not multiples of the 2x4 tile or the row chunk
  const n = 301,
    d = 7,
    D = 13;
  const X = random(n * d, 1, 0.2);
  const Y = random(n * D, 2);
  const gram = gramTN(X, n, d);
  const xty = matTN(X, Y, n, d, D);
  for (let a = 0; a < d; a++) {
    for (let c = 0; c < d; c++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += X[i * d + a] * X[i * d + c];
      assert.ok(Math.abs(gram[a * d + c] - s) < 1e-9 * n, `gram ${a},${c}`);
    }
    for (let c = 0; c < D; c++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += X[i * d + a] * Y[i * D + c];
      assert.ok(Math.abs(xty[a * D + c] - s) < 1e-9 * n, `xty ${a},${c}`);
    }
  }
  const A = new Float64Array(gram);
  for (let i = 0; i < d; i++) A[i * d + i] += 1;
  const inv = choleskyInverse(cholesky(new Float64Array(A), d), d);
  const I = matMul(A, inv, d, d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) assert.ok(Math.abs(I[i * d + j] - (i === j ? 1 : 0)) < 1e-10);
  assert.throws(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2), /not positive definite/);
});
