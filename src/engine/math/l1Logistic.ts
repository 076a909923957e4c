// L1-regularised logistic regression with the objective of scikit-learn's
// LogisticRegression(penalty='l1', solver='liblinear'), the model DFR fits:
//   minimise ||w||_1 + C sum_i log(1 + exp(-y_i w . x_i)),  y_i in {-1, +1},
// where every x_i carries a trailing constant 1 whose weight is the intercept, penalised like
// the others (liblinear's intercept_scaling = 1). More than two classes: one-vs-rest, one binary
// problem per class, as liblinear. The optimum is unique for features in general position, so
// the solver is judged by the optimum it reaches, not by imitating liblinear's iterates.

import { createRng, type Rng } from './rng';
import { yielder } from './yielder';
import {
  computeMargins,
  coordinateNewton,
  rowDerivatives,
  supportNewton,
  violationOf,
  type BinaryProblem,
  type Design,
  type InnerTolerance,
} from './l1NewtonSteps';

export type { Design } from './l1NewtonSteps';

export interface L1LogisticOptions {
  C: number;
  /** stop when the largest entry of the minimum-norm subgradient is below this (the penalty's slope is 1); default 1e-9 */
  tol?: number;
  /** Newton iterations per binary problem, both kinds counted; default 1000 */
  maxNewtonIter?: number;
  /** warm start in the layout of the result (problems x p: coefficients then intercept); the optimum does not depend on it */
  init?: Float64Array;
  /** coordinate-descent order */
  seed?: number;
  signal?: AbortSignal;
}

export interface L1LogisticFit {
  /** problems x p, row-major: each row the coefficients then the intercept; problems = 1 for two classes (the weight of class 1, sklearn's coef_), else classes */
  w: Float64Array;
  problems: number;
  /** Newton iterations per problem */
  iterations: number[];
  /** every problem reached tol */
  converged: boolean;
  /** largest minimum-norm subgradient entry over the problems at the end */
  violation: number;
}

/** The design for `rows` of X (n x dim, row-major), each feature mapped to (x - mean) / scale, plus the constant column. */
export function designFromRows(
  X: Float32Array | Float64Array,
  dim: number,
  rows: ArrayLike<number>,
  mean: Float64Array,
  scale: Float64Array,
): Design {
  const n = rows.length;
  const p = dim + 1;
  const cols = new Float64Array(p * n);
  for (let i = 0; i < n; i++) {
    const off = rows[i] * dim;
    for (let j = 0; j < dim; j++) cols[j * n + i] = (X[off + j] - mean[j]) / scale[j];
  }
  cols.fill(1, dim * n);
  return { cols, n, p };
}

/** Fits the model: one binary problem for two classes (class 1 positive), one-vs-rest problems otherwise. */
export async function fitL1Logistic(design: Design, labels: Int32Array, classes: number, opts: L1LogisticOptions): Promise<L1LogisticFit> {
  const { n, p } = design;
  if (!(opts.C > 0)) throw new Error(`fitL1Logistic: C must be > 0, got ${opts.C}.`);
  if (labels.length !== n) throw new Error(`fitL1Logistic: ${labels.length} labels for ${n} rows.`);
  if (!(classes >= 2)) throw new Error(`fitL1Logistic: need at least 2 classes, got ${classes}.`);
  const problems = classes === 2 ? 1 : classes;
  const w = opts.init ? new Float64Array(opts.init) : new Float64Array(problems * p);
  if (w.length !== problems * p) throw new Error(`fitL1Logistic: init has ${w.length} values, expected ${problems * p}.`);
  const rng = createRng(opts.seed ?? 0);
  const pause = yielder(opts.signal);
  const iterations: number[] = [];
  let converged = true;
  let violation = 0;
  for (let k = 0; k < problems; k++) {
    const positive = classes === 2 ? 1 : k;
    const y = new Int8Array(n);
    for (let i = 0; i < n; i++) {
      const label = labels[i];
      if (!(label >= 0 && label < classes)) throw new Error(`fitL1Logistic: label ${label} at row ${i} is outside 0..${classes - 1}.`);
      y[i] = label === positive ? 1 : -1;
    }
    const r = await solveBinary(
      { design, y, C: opts.C },
      w.subarray(k * p, (k + 1) * p),
      opts.tol ?? 1e-9,
      opts.maxNewtonIter ?? 1000,
      rng,
      pause,
    );
    iterations.push(r.iterations);
    converged &&= r.converged;
    violation = Math.max(violation, r.violation);
  }
  return { w, problems, iterations, converged, violation };
}

/** Smallest working set (celer's default). */
const WORKING_MIN = 100;

/**
 * Minimises one binary problem in place of `w` (length p), in rounds. p is large (2048
 * features) and the solution sparse, so each round checks optimality over all coordinates once
 * (p x n work), then works on the non-zeros, the intercept and the violators only: coordinate
 * Newton (newGLMNET) to find the support loosely, then support Newton to finish. A zero left
 * out that should not be zero shows up in the next round's check.
 */
async function solveBinary(
  prob: BinaryProblem,
  w: Float64Array,
  tol: number,
  maxNewton: number,
  rng: Rng,
  pause: () => Promise<void>,
): Promise<{ iterations: number; converged: boolean; violation: number }> {
  const { cols, n, p } = prob.design;
  const margin = new Float64Array(n);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const working = new Int32Array(p);
  const priority = new Float64Array(p);
  const order = Array.from({ length: p }, (_, j) => j);
  const inner: InnerTolerance = { eps: 1, gnormInit: -1 };
  let iterations = 0;
  let stalled = false;
  for (;;) {
    computeMargins(prob.design, w, margin);
    rowDerivatives(prob, margin, g, h);
    let violation = 0;
    let nonZeros = 0;
    for (let j = 0; j < p; j++) {
      const off = j * n;
      let G = 0;
      for (let i = 0; i < n; i++) G += cols[off + i] * g[i];
      // the non-zeros and the intercept always work; the rest compete by violation
      priority[j] = w[j] !== 0 || j === p - 1 ? Infinity : violationOf(w[j], G);
      violation = Math.max(violation, violationOf(w[j], G));
      if (w[j] !== 0) nonZeros++;
    }
    await pause();
    if (violation <= tol) return { iterations, converged: true, violation };
    if (stalled || iterations >= maxNewton) return { iterations, converged: false, violation };
    // celer's working set: twice the non-zeros (at least WORKING_MIN), the worst violators first
    const size = Math.min(p, Math.max(WORKING_MIN, 2 * nonZeros));
    order.sort((a, b) => priority[b] - priority[a]);
    let count = 0;
    for (let s = 0; s < size && priority[order[s]] > 0; s++) working[count++] = order[s];
    // coordinate Newton only has to move the support: a third of the way (so it always has
    // work to do); support Newton then converges fast where coordinate descent crawls (correlated
    // features). Neither is asked for more than the next round's check can use.
    const cd = await coordinateNewton(
      prob,
      w,
      working.subarray(0, count),
      Math.max(tol, violation / 3),
      maxNewton - iterations,
      inner,
      rng,
      pause,
    );
    iterations += cd.iterations;
    if (cd.stalled) {
      stalled = true;
      continue;
    }
    const sn = await supportNewton(prob, w, Math.max(tol, violation / 100), Math.max(0, maxNewton - iterations), pause);
    iterations += sn.iterations;
  }
}
