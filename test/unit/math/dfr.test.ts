import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  fitDfrFinal,
  fitDfrReference,
  fitStandardScaler,
  headOnRawFeatures,
  predictScaled,
  tuneDfrC,
  WATERBIRDS_C_GRID,
  type DfrData,
  type Scaler,
} from '../../../src/engine/math/dfr';
import { designFromRows, fitL1Logistic } from '../../../src/engine/math/l1Logistic';
import { logits, predict } from '../../../src/engine/math/linearHead';
import { InputError, isAbortError } from '../../../src/shared/errors';

// The fixture comes from tools/fixtures/dfr_reference.py (scikit-learn 1.2.1, liblinear): see
// that script for the data and the protocol. "default" = liblinear's default stopping (what
// DFR runs), "tight" = tol 1e-8 (the optimum, up to liblinear's own precision).
interface SklearnFit {
  coef: number[];
  intercept: number[];
  nIter: number;
  heldoutWorstGroup: number;
}
interface FinalFit {
  C: number;
  coef: number[];
  intercept: number[];
  testPredictions: number[];
  testWorstGroup: number;
}
interface Split {
  n: number;
  x: string;
  labels: number[];
  spurious: number[];
}
interface Case {
  name: string;
  classes: number;
  spuriousValues: number;
  dim: number;
  train: Split;
  val: Split;
  test: Split;
  tuning: {
    heldout: number[];
    balancedFit: number[];
    scalerMean: number[];
    scalerScale: number[];
    perC: { C: number; default: SklearnFit; tight: SklearnFit }[];
    chosenC: { default: number; tight: number };
  };
  final: { scalerMean: number[]; scalerScale: number[]; subsets: number[][]; default: FinalFit; tight: FinalFit };
}
interface Fixture {
  quantization: number;
  cGrid: number[];
  cases: Case[];
}

// compiled to out/test/unit/math; the fixture stays in the source tree
const fixture = JSON.parse(readFileSync(resolve(__dirname, '../../../../test/fixtures/dfr/reference.json'), 'utf8')) as Fixture;

/** int8 codes / quantization: the same float64 values sklearn saw */
function features(split: Split): Float64Array {
  const codes = new Int8Array(Buffer.from(split.x, 'base64'));
  return Float64Array.from(codes, (q) => q / fixture.quantization);
}

interface Loaded {
  c: Case;
  val: DfrData;
  train: Float64Array;
  test: Float64Array;
}
const cases: Loaded[] = fixture.cases.map((c) => ({
  c,
  val: {
    features: features(c.val),
    labels: Int32Array.from(c.val.labels),
    groups: Int32Array.from(c.val.labels, (y, i) => y * c.spuriousValues + c.val.spurious[i]),
    n: c.val.n,
  },
  train: features(c.train),
  test: features(c.test),
}));

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const scalerOf = (mean: number[], scale: number[]): Scaler => ({ mean: Float64Array.from(mean), scale: Float64Array.from(scale) });
const allRows = (n: number) => Array.from({ length: n }, (_, i) => i);

function worstGroup(pred: Int32Array, split: Split, S: number): number {
  const total = new Map<number, number>();
  const correct = new Map<number, number>();
  for (let i = 0; i < split.n; i++) {
    const g = split.labels[i] * S + split.spurious[i];
    total.set(g, (total.get(g) ?? 0) + 1);
    correct.set(g, (correct.get(g) ?? 0) + (pred[i] === split.labels[i] ? 1 : 0));
  }
  return Math.min(...[...total].map(([g, t]) => correct.get(g)! / t));
}

/** F(w) = ||w||_1 + C sum log(1 + exp(-y w.x)) of the scaled model, summed over the one-vs-rest problems */
function objective(l: Loaded, rows: number[], scaler: Scaler, C: number, coef: ArrayLike<number>, intercept: ArrayLike<number>): number {
  const { dim, classes } = l.c;
  const problems = classes === 2 ? 1 : classes;
  let f = 0;
  for (let k = 0; k < problems; k++) {
    for (let j = 0; j < dim; j++) f += Math.abs(coef[k * dim + j]);
    f += Math.abs(intercept[k]);
    for (const r of rows) {
      let m = intercept[k];
      for (let j = 0; j < dim; j++) m += (coef[k * dim + j] * (l.val.features[r * dim + j] - scaler.mean[j])) / scaler.scale[j];
      const y = l.val.labels[r] === (classes === 2 ? 1 : k) ? 1 : -1;
      const a = -y * m;
      f += C * (a > 0 ? a + Math.log1p(Math.exp(-a)) : Math.log1p(Math.exp(a)));
    }
  }
  return f;
}

test('the standard scaler matches sklearn on the balanced half and on the train split', () => {
  for (const l of cases) {
    const { dim } = l.c;
    const half = fitStandardScaler(l.val.features, dim, l.val.n, l.c.tuning.balancedFit);
    assert.ok(maxAbsDiff(half.mean, l.c.tuning.scalerMean) < 1e-10);
    assert.ok(maxAbsDiff(half.scale, l.c.tuning.scalerScale) < 1e-10);
    const train = fitStandardScaler(l.train, dim, l.c.train.n);
    assert.ok(maxAbsDiff(train.mean, l.c.final.scalerMean) < 1e-10);
    assert.ok(maxAbsDiff(train.scale, l.c.final.scalerScale) < 1e-10);
  }
  // a constant feature keeps scale 1 (sklearn), so it cannot divide by zero
  const s = fitStandardScaler(Float64Array.from([1, 5, 2, 5, 3, 5]), 2, 3);
  assert.deepEqual([...s.mean], [2, 5]);
  assert.deepEqual([...s.scale], [Math.sqrt(2 / 3), 1]);
});

test('the L1 solver reaches sklearn-liblinear tight optimum for every C (coefficients within 1e-6)', async () => {
  for (const l of cases) {
    const { dim, classes } = l.c;
    const rows = l.c.tuning.balancedFit;
    const scaler = scalerOf(l.c.tuning.scalerMean, l.c.tuning.scalerScale);
    const design = designFromRows(l.val.features, dim, rows, scaler.mean, scaler.scale);
    const labels = Int32Array.from(rows, (r) => l.val.labels[r]);
    let worst = 0;
    for (const e of l.c.tuning.perC) {
      const fit = await fitL1Logistic(design, labels, classes, { C: e.C });
      assert.ok(fit.converged, `${l.c.name} C=${e.C}: violation ${fit.violation}`);
      const coef: number[] = [];
      const intercept: number[] = [];
      for (let k = 0; k < fit.problems; k++) {
        coef.push(...fit.w.subarray(k * (dim + 1), k * (dim + 1) + dim));
        intercept.push(fit.w[k * (dim + 1) + dim]);
      }
      // measured: at most 1.9e-7 (the 2-class case, C = 0.7), the size of liblinear's own tight stop
      const d = Math.max(maxAbsDiff(coef, e.tight.coef), maxAbsDiff(intercept, e.tight.intercept));
      worst = Math.max(worst, d);
      assert.ok(d < 1e-6, `${l.c.name} C=${e.C}: max |coef - sklearn tight| = ${d}`);
      // the same zeros: L1's sparsity pattern is part of the answer
      const zeros = (a: ArrayLike<number>) => Array.from(a, (v) => Math.abs(v) < 1e-9);
      assert.deepEqual(zeros(coef), zeros(e.tight.coef), `${l.c.name} C=${e.C}: sparsity pattern`);
      // never worse than liblinear's default stopping (what DFR runs), which stops short of the optimum
      const ours = objective(l, rows, scaler, e.C, coef, intercept);
      const theirs = objective(l, rows, scaler, e.C, e.default.coef, e.default.intercept);
      assert.ok(ours <= theirs + 1e-9 * theirs, `${l.c.name} C=${e.C}: objective ${ours} vs liblinear default ${theirs}`);
    }
    assert.ok(worst > 0, 'the comparison saw non-zero models');
  }
});

test('the objective penalises the intercept: w = 0 exactly below C* = 1 / max_j |sum_i x_ij (1/2 - t_i)|, not above', async () => {
  const l = cases[0];
  const { dim } = l.c;
  const rows = l.c.tuning.balancedFit;
  const scaler = scalerOf(l.c.tuning.scalerMean, l.c.tuning.scalerScale);
  const design = designFromRows(l.val.features, dim, rows, scaler.mean, scaler.scale);
  const labels = Int32Array.from(rows, (r) => l.val.labels[r]);
  let best = 0;
  let arg = -1;
  for (let j = 0; j <= dim; j++) {
    let s = 0;
    for (let i = 0; i < rows.length; i++) s += design.cols[j * rows.length + i] * (0.5 - (labels[i] === 1 ? 1 : 0));
    if (Math.abs(s) > best) {
      best = Math.abs(s);
      arg = j;
    }
  }
  const cStar = 1 / best;
  const below = await fitL1Logistic(design, labels, 2, { C: 0.99 * cStar });
  assert.equal(
    below.w.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0),
    0,
  );
  const above = await fitL1Logistic(design, labels, 2, { C: 1.05 * cStar });
  const nonZero = [...above.w.keys()].filter((j) => above.w[j] !== 0);
  assert.deepEqual(nonZero, [arg], 'just above C*, only the steepest coordinate moves');
});

test('tuning on the fixture halves gives sklearn-tight held-out accuracies and picks the same C', async () => {
  for (const l of cases) {
    const { dim, classes } = l.c;
    const t = await tuneDfrC(l.val, dim, classes, { balancedFit: l.c.tuning.balancedFit, heldout: l.c.tuning.heldout }, fixture.cGrid);
    assert.ok(t.converged);
    assert.deepEqual(
      t.candidates.map((x) => x.C),
      fixture.cGrid,
    );
    for (let k = 0; k < fixture.cGrid.length; k++) {
      assert.ok(
        Math.abs(t.candidates[k].heldoutWorstGroup - l.c.tuning.perC[k].tight.heldoutWorstGroup) < 1e-12,
        `${l.c.name} C=${fixture.cGrid[k]}: ${t.candidates[k].heldoutWorstGroup} vs ${l.c.tuning.perC[k].tight.heldoutWorstGroup}`,
      );
    }
    // 2 classes: 0.07; 3 classes: 0.3, tied with 0.1 and kept because it comes first in the grid (np.argmax)
    assert.equal(t.chosenC, l.c.tuning.chosenC.tight, l.c.name);
  }
});

test('the final averaged model matches sklearn given the same 20 subsets; test predictions agree on >= 99%', async () => {
  for (const l of cases) {
    const { dim, classes } = l.c;
    const scaler = scalerOf(l.c.final.scalerMean, l.c.final.scalerScale);
    const testRows = allRows(l.c.test.n);
    for (const tag of ['tight', 'default'] as const) {
      const ref = l.c.final[tag];
      const f = await fitDfrFinal(l.val, dim, classes, scaler, l.c.final.subsets, ref.C);
      assert.ok(f.converged);
      const d = Math.max(maxAbsDiff(f.model.coef, ref.coef), maxAbsDiff(f.model.intercept, ref.intercept));
      // measured: tight 7.5e-9; default 9.1e-5 (liblinear stops early at tol 1e-4 and is off by up to
      // 3e-3 in single fits at C = 1; ours does not stop early)
      assert.ok(d < (tag === 'tight' ? 1e-6 : 5e-3), `${l.c.name} ${tag}: max |coef - sklearn| = ${d}`);
      const pred = predictScaled(f.model, l.test, dim, testRows, scaler);
      const agree = pred.filter((p, i) => p === ref.testPredictions[i]).length / pred.length;
      // measured: 100% on both cases, against both stopping rules
      assert.ok(agree >= 0.99, `${l.c.name} ${tag}: ${agree}`);
      assert.equal(worstGroup(pred, l.c.test, l.c.spuriousValues), ref.testWorstGroup);
    }
  }
});

test('the head on raw features makes the scaled model decisions (scaler folded into W and b)', async () => {
  for (const l of cases) {
    const { dim, classes } = l.c;
    const scaler = scalerOf(l.c.final.scalerMean, l.c.final.scalerScale);
    const f = await fitDfrFinal(l.val, dim, classes, scaler, l.c.final.subsets.slice(0, 3), l.c.final.tight.C);
    const head = headOnRawFeatures(f.model, scaler, dim, classes);
    assert.equal(head.weight.length, classes * dim);
    const n = l.c.test.n;
    assert.deepEqual(
      [...predict(head.weight, head.bias, l.test, n, dim, classes)],
      [...predictScaled(f.model, l.test, dim, allRows(n), scaler)],
    );
    // the logits are the scaled model's scores (binary: [0, score])
    const z = logits(head.weight, head.bias, l.test, 1, dim, classes);
    const zs = new Float64Array(f.model.problems).map((_, k) => {
      let s = f.model.intercept[k];
      for (let j = 0; j < dim; j++) s += (f.model.coef[k * dim + j] * (l.test[j] - scaler.mean[j])) / scaler.scale[j];
      return s;
    });
    const expected = classes === 2 ? [0, zs[0]] : [...zs];
    assert.ok(maxAbsDiff(z, expected) < 1e-9, `${l.c.name}: logits ${[...z]} vs scores ${expected}`);
  }
});

test('fitDfrReference records what it did', async () => {
  for (const l of cases) {
    const { dim, classes } = l.c;
    const { record: rec } = await fitDfrReference({ val: l.val, train: { features: l.train, n: l.c.train.n }, dim, classes, seed: 0 });
    assert.deepEqual(rec.cGrid, [...WATERBIRDS_C_GRID]);
    assert.ok(WATERBIRDS_C_GRID.includes(rec.chosenC));
    assert.equal(rec.tuning.length, 7);
    const best = Math.max(...rec.tuning.map((t) => t.heldoutWorstGroup));
    assert.equal(rec.tuning.find((t) => t.C === rec.chosenC)!.heldoutWorstGroup, best);
    assert.equal(rec.scaler, 'train');
    const groupsN = classes * l.c.spuriousValues;
    const smallest = Math.min(...rec.groups.map((g) => g.valRows));
    assert.equal(rec.groups.length, groupsN);
    assert.equal(rec.subsetSize, groupsN * smallest);
    assert.equal(rec.finalSubsets, 20);
    assert.equal(rec.tuningRows.heldout, Math.floor(l.val.n / 2));
    assert.ok(rec.converged && rec.solverViolation < 1e-8);
  }
});

test('without train features the val statistics scale, and the record says so; the seed fixes the result', async () => {
  const l = cases[1];
  const run = (seed: number) => fitDfrReference({ val: l.val, dim: l.c.dim, classes: l.c.classes, seed, cGrid: [0.3], finalSubsets: 2 });
  const r = await run(3);
  assert.deepEqual([...(await run(3)).head.weight], [...r.head.weight]);
  assert.notDeepEqual([...(await run(4)).head.weight], [...r.head.weight]);
  assert.equal(r.record.scaler, 'val');
  assert.match(r.record.scalerNote, /no training features.*val split's statistics/);
  assert.deepEqual(r.record.cGrid, [0.3]);
  assert.equal(r.record.finalSubsets, 2);
});

test('a class missing from the balanced rows is an InputError that says what to add', async () => {
  const l = cases[1];
  // drop every val row of class 2
  const keep = allRows(l.val.n).filter((i) => l.val.labels[i] !== 2);
  const dim = l.c.dim;
  const val: DfrData = {
    features: Float64Array.from(keep.flatMap((i) => [...l.val.features.subarray(i * dim, (i + 1) * dim)])),
    labels: Int32Array.from(keep, (i) => l.val.labels[i]),
    groups: Int32Array.from(keep, (i) => l.val.groups[i]),
    n: keep.length,
  };
  await assert.rejects(
    fitDfrReference({ val, dim, classes: 3, seed: 0 }),
    (e: Error) => e instanceof InputError && /no row of class 2/.test(e.message) && /add val images/.test(e.message),
  );
});

test('an abort during the final fits rejects with AbortError', async () => {
  const l = cases[0];
  const controller = new AbortController();
  await assert.rejects(
    fitDfrReference({
      val: l.val,
      train: { features: l.train, n: l.c.train.n },
      dim: l.c.dim,
      classes: 2,
      seed: 0,
      signal: controller.signal,
      onProgress: (done, total) => {
        if (done < total) controller.abort();
      },
    }),
    (e: unknown) => isAbortError(e),
  );
});
