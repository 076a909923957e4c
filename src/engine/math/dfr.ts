// The DFR reference as its authors evaluate it (DFR(Val) of dfr_evaluate_spurious.py):
//   tuning: shuffle val and split it in halves; downsample the fitting half to equal group sizes;
//     fit a standard scaler on that balanced half; fit the L1 model for each C; score each C by
//     worst-group accuracy on the other half, scaled the same way; keep the best (ties: the
//     first C of the grid, as np.argmax).
//   final: standard scaler on the TRAIN features; 20 group-balanced subsets of the whole val
//     split, each with a fresh shuffle, fitted with the chosen C; the coefficients and
//     intercepts averaged.
// The steps are exported on their own (tuneDfrC, fitDfrFinal) so a test can replay the exact
// index sets of the Python reference; fitDfrReference draws them from the seed.

import { InputError } from '../../shared/errors';
import { designFromRows, fitL1Logistic, type L1LogisticFit } from './l1Logistic';
import type { LinearHead } from './linearHead';
import { createRng, deriveSeed, shuffle, type Rng } from './rng';

/** The C grid of dfr_evaluate_spurious.py for Waterbirds. */
export const WATERBIRDS_C_GRID: readonly number[] = [1, 0.7, 0.3, 0.1, 0.07, 0.03, 0.01];
export const DFR_FINAL_SUBSETS = 20;

export interface DfrData {
  /** n x dim, row-major */
  features: Float32Array | Float64Array;
  /** class index per row */
  labels: Int32Array;
  /** group per row, any non-negative integer: true groups (label * spurious values + spurious) or pseudo-groups */
  groups: Int32Array;
  n: number;
}

export interface Scaler {
  mean: Float64Array;
  scale: Float64Array;
}

/** The model in the scaled feature space, in sklearn's layout: one row for two classes (class 1's score), else one per class. */
export interface ScaledModel {
  /** problems x dim, row-major */
  coef: Float64Array;
  intercept: Float64Array;
  problems: number;
}

export interface SolverOptions {
  /** coordinate-descent order */
  seed?: number;
  /** optimality tolerance of the solver (see L1LogisticOptions.tol) */
  tol?: number;
  signal?: AbortSignal;
}

/**
 * sklearn's StandardScaler.fit over `rows` (every row when omitted): mean and population standard
 * deviation; a constant feature (zero variance up to rounding, sklearn's test) gets scale 1.
 */
export function fitStandardScaler(X: Float32Array | Float64Array, dim: number, n: number, rows?: ArrayLike<number>): Scaler {
  const count = rows ? rows.length : n;
  if (count === 0) throw new Error('fitStandardScaler: no rows.');
  const row = (k: number) => (rows ? rows[k] : k) * dim;
  const mean = new Float64Array(dim);
  for (let k = 0; k < count; k++) for (let j = 0, o = row(k); j < dim; j++) mean[j] += X[o + j];
  for (let j = 0; j < dim; j++) mean[j] /= count;
  const variance = new Float64Array(dim);
  for (let k = 0; k < count; k++) for (let j = 0, o = row(k); j < dim; j++) variance[j] += (X[o + j] - mean[j]) ** 2;
  const scale = new Float64Array(dim);
  const eps = Number.EPSILON;
  for (let j = 0; j < dim; j++) {
    const v = variance[j] / count;
    const constant = v <= count * eps * v + (count * mean[j] * eps) ** 2;
    scale[j] = constant ? 1 : Math.sqrt(v);
  }
  return { mean, scale };
}

/** DFR's downsampling: for each group present in `rows` (ascending id), shuffle its rows and keep the smallest group's count. */
export function balancedSubset(groups: Int32Array, rows: ArrayLike<number>, rng: Rng): number[] {
  const byGroup = new Map<number, number[]>();
  for (let k = 0; k < rows.length; k++) {
    const g = groups[rows[k]];
    const list = byGroup.get(g);
    if (list) list.push(rows[k]);
    else byGroup.set(g, [rows[k]]);
  }
  const ids = [...byGroup.keys()].sort((a, b) => a - b);
  const m = Math.min(...ids.map((g) => byGroup.get(g)!.length));
  return ids.flatMap((g) => shuffle(byGroup.get(g)!, rng).slice(0, m));
}

/** Class per row from scaled-space scores: class 1 iff its score is > 0 for two classes, else argmax (ties to the first), as sklearn's predict. */
export function predictScaled(
  model: ScaledModel,
  X: Float32Array | Float64Array,
  dim: number,
  rows: ArrayLike<number>,
  scaler: Scaler,
): Int32Array {
  const { coef, intercept, problems } = model;
  const out = new Int32Array(rows.length);
  const z = new Float64Array(dim);
  for (let k = 0; k < rows.length; k++) {
    const o = rows[k] * dim;
    for (let j = 0; j < dim; j++) z[j] = (X[o + j] - scaler.mean[j]) / scaler.scale[j];
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < problems; c++) {
      let s = intercept[c];
      for (let j = 0; j < dim; j++) s += coef[c * dim + j] * z[j];
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    out[k] = problems === 1 ? (bestScore > 0 ? 1 : 0) : best;
  }
  return out;
}

/** Lowest accuracy over the groups present among `rows`. */
function worstGroupAccuracy(pred: Int32Array, data: DfrData, rows: ArrayLike<number>): number {
  const total = new Map<number, number>();
  const correct = new Map<number, number>();
  for (let k = 0; k < rows.length; k++) {
    const g = data.groups[rows[k]];
    total.set(g, (total.get(g) ?? 0) + 1);
    correct.set(g, (correct.get(g) ?? 0) + (pred[k] === data.labels[rows[k]] ? 1 : 0));
  }
  let worst = Infinity;
  for (const [g, t] of total) worst = Math.min(worst, correct.get(g)! / t);
  return worst;
}

function splitModel(fit: L1LogisticFit, dim: number): ScaledModel {
  const { problems, w } = fit;
  const coef = new Float64Array(problems * dim);
  const intercept = new Float64Array(problems);
  for (let c = 0; c < problems; c++) {
    coef.set(w.subarray(c * (dim + 1), c * (dim + 1) + dim), c * dim);
    intercept[c] = w[c * (dim + 1) + dim];
  }
  return { coef, intercept, problems };
}

const countNonZero = (a: Float64Array) => a.reduce((s, v) => s + (v !== 0 ? 1 : 0), 0);

function checkClasses(data: DfrData, rows: ArrayLike<number>, classes: number, what: string): void {
  const seen = new Uint8Array(classes);
  for (let k = 0; k < rows.length; k++) {
    const y = data.labels[rows[k]];
    if (!(y >= 0 && y < classes)) throw new Error(`DFR: label ${y} at val row ${rows[k]} is outside 0..${classes - 1}.`);
    seen[y] = 1;
  }
  const missing = [...seen.keys()].filter((c) => !seen[c]);
  if (missing.length > 0) {
    throw new InputError(
      `DFR reference: the ${what} (${rows.length} val rows, every group cut to the smallest group's size) has no row of class ${missing.join(', ')}. ` +
        'Each class needs val rows in every group the split has; add val images to the small groups, or evaluate without the DFR reference.',
    );
  }
}

async function fitScaled(
  data: DfrData,
  dim: number,
  classes: number,
  rows: ArrayLike<number>,
  scaler: Scaler,
  C: number,
  opts: SolverOptions,
  init?: Float64Array,
): Promise<L1LogisticFit> {
  const design = designFromRows(data.features, dim, rows, scaler.mean, scaler.scale);
  const labels = Int32Array.from(rows as ArrayLike<number>, (r) => data.labels[r]);
  return fitL1Logistic(design, labels, classes, { C, tol: opts.tol, seed: opts.seed, signal: opts.signal, init });
}

export interface DfrCandidate {
  C: number;
  /** worst-group accuracy on the held-out half */
  heldoutWorstGroup: number;
  /** non-zero coefficients (intercepts not counted) */
  nonZeroWeights: number;
}

export interface DfrTuning {
  chosenC: number;
  /** in grid order */
  candidates: DfrCandidate[];
  scaler: Scaler;
  converged: boolean;
  /** largest minimum-norm subgradient entry left by the solver over the fits */
  violation: number;
  models: ScaledModel[];
}

/**
 * Tuning given explicit index sets: `balancedFit` (the group-balanced fitting half) and
 * `heldout` (the other half), both row indices of `data`. Fits the C path from the strongest
 * penalty up, each fit warm-started from the previous (the optimum does not depend on it).
 */
export async function tuneDfrC(
  data: DfrData,
  dim: number,
  classes: number,
  split: { balancedFit: ArrayLike<number>; heldout: ArrayLike<number> },
  cGrid: readonly number[],
  opts: SolverOptions = {},
): Promise<DfrTuning> {
  if (cGrid.length === 0 || !cGrid.every((c) => c > 0))
    throw new Error(`DFR: the C grid must be non-empty and positive, got [${cGrid.join(', ')}].`);
  if (split.heldout.length === 0) throw new Error('DFR: the held-out half is empty.');
  checkClasses(data, split.balancedFit, classes, 'balanced fitting half');
  const scaler = fitStandardScaler(data.features, dim, data.n, split.balancedFit);
  const models: ScaledModel[] = new Array(cGrid.length);
  const candidates: DfrCandidate[] = new Array(cGrid.length);
  let converged = true;
  let violation = 0;
  let warm: Float64Array | undefined;
  const order = cGrid.map((C, k) => ({ C, k })).sort((a, b) => a.C - b.C);
  for (const { C, k } of order) {
    const fit = await fitScaled(data, dim, classes, split.balancedFit, scaler, C, opts, warm);
    warm = fit.w;
    converged &&= fit.converged;
    violation = Math.max(violation, fit.violation);
    const model = splitModel(fit, dim);
    const pred = predictScaled(model, data.features, dim, split.heldout, scaler);
    models[k] = model;
    candidates[k] = { C, heldoutWorstGroup: worstGroupAccuracy(pred, data, split.heldout), nonZeroWeights: countNonZero(model.coef) };
  }
  let best = 0;
  for (let k = 1; k < candidates.length; k++) if (candidates[k].heldoutWorstGroup > candidates[best].heldoutWorstGroup) best = k;
  return { chosenC: cGrid[best], candidates, scaler, converged, violation, models };
}

export interface DfrFinal {
  /** the average of the subsets' models, in the scaled space */
  model: ScaledModel;
  converged: boolean;
  violation: number;
}

/** Final fit given explicit subsets (row indices of `data`): one fit per subset with C, coefficients and intercepts averaged. */
export async function fitDfrFinal(
  data: DfrData,
  dim: number,
  classes: number,
  scaler: Scaler,
  subsets: readonly ArrayLike<number>[],
  C: number,
  opts: SolverOptions = {},
): Promise<DfrFinal> {
  if (subsets.length === 0) throw new Error('DFR: no final subsets.');
  let sum: Float64Array | undefined;
  let converged = true;
  let violation = 0;
  for (const rows of subsets) {
    checkClasses(data, rows, classes, 'group-balanced val subset');
    // each subset from zero: starting from the previous subset's model measured no faster
    const fit = await fitScaled(data, dim, classes, rows, scaler, C, opts);
    converged &&= fit.converged;
    violation = Math.max(violation, fit.violation);
    sum ??= new Float64Array(fit.w.length);
    for (let i = 0; i < sum.length; i++) sum[i] += fit.w[i];
  }
  const problems = classes === 2 ? 1 : classes;
  const mean = sum!.map((v) => v / subsets.length);
  return { model: splitModel({ w: mean, problems, iterations: [], converged, violation }, dim), converged, violation };
}

/**
 * The scaled-space model as a head on RAW features (the scaler folded in, so it exports as one
 * linear layer): w . (x - mu) / s + b = (w / s) . x + (b - sum w mu / s). Two classes become
 * rows [0, w]: the same decisions, and softmax gives sklearn's predict_proba. With more classes
 * the rows are the one-vs-rest scores: the same argmax, but softmax of them is not sklearn's
 * normalised one-vs-rest probabilities.
 */
export function headOnRawFeatures(model: ScaledModel, scaler: Scaler, dim: number, classes: number): LinearHead {
  const weight = new Float64Array(classes * dim);
  const bias = new Float64Array(classes);
  const first = model.problems === 1 ? 1 : 0; // binary: row 0 stays zero
  for (let c = 0; c < model.problems; c++) {
    let shift = 0;
    for (let j = 0; j < dim; j++) {
      const w = model.coef[c * dim + j] / scaler.scale[j];
      weight[(first + c) * dim + j] = w;
      shift += w * scaler.mean[j];
    }
    bias[first + c] = model.intercept[c] - shift;
  }
  return { weight, bias };
}

export interface DfrInput {
  val: DfrData;
  /** training-set features (n x dim) for the final scaler, as the reference; without them the val split's statistics stand in */
  train?: { features: Float32Array | Float64Array; n: number } | null;
  dim: number;
  classes: number;
  seed: number;
  /** default WATERBIRDS_C_GRID */
  cGrid?: readonly number[];
  /** default DFR_FINAL_SUBSETS (20) */
  finalSubsets?: number;
  signal?: AbortSignal;
  /** fits done of total (the C grid plus the final subsets), called after the tuning and after the final fits */
  onProgress?: (done: number, total: number) => void;
}

/** What the DFR reference did, for the run record. */
export interface DfrRecord {
  method: 'DFR(Val): L1 logistic regression (liblinear objective), C tuned on val halves, averaged over group-balanced val subsets';
  seed: number;
  cGrid: number[];
  chosenC: number;
  /** per C, in grid order: worst-group accuracy on the held-out val half and the model's non-zero weights */
  tuning: DfrCandidate[];
  tuningRows: { balancedFit: number; heldout: number };
  /** where the final scaler's statistics came from */
  scaler: 'train' | 'val';
  scalerNote: string;
  finalSubsets: number;
  /** rows per final subset (groups x rows per group) */
  subsetSize: number;
  rowsPerGroup: number;
  /** val rows per group id, ascending */
  groups: { group: number; valRows: number }[];
  /** non-zero weights of the averaged model (intercepts not counted) */
  nonZeroWeights: number;
  /** the solver reached its tolerance in every fit */
  converged: boolean;
  /** largest minimum-norm subgradient entry left over all fits (0 at the exact optimum; the penalty's slope is 1) */
  solverViolation: number;
}

export interface DfrResult {
  /** on raw features: exportable as is */
  head: LinearHead;
  record: DfrRecord;
}

/** DFR(Val) from the seed: draws the halves and subsets, tunes C, fits and averages the final model. */
export async function fitDfrReference(input: DfrInput): Promise<DfrResult> {
  const { val, dim, classes, seed, signal } = input;
  const cGrid = input.cGrid ?? WATERBIRDS_C_GRID;
  const finalSubsets = input.finalSubsets ?? DFR_FINAL_SUBSETS;
  if (val.n < 2)
    throw new InputError(`DFR reference: the val split has ${val.n} row(s); tuning C needs a fitting half and a held-out half.`);
  if (val.features.length !== val.n * dim)
    throw new Error(`DFR: val features hold ${val.features.length} values, expected ${val.n} x ${dim}.`);
  for (let i = 0; i < val.n; i++) {
    if (!(Number.isInteger(val.groups[i]) && val.groups[i] >= 0))
      throw new Error(`DFR: group ${val.groups[i]} at val row ${i} is not a non-negative integer.`);
  }
  if (input.train && input.train.features.length !== input.train.n * dim)
    throw new Error(`DFR: train features hold ${input.train.features.length} values, expected ${input.train.n} x ${dim}.`);
  if (!(Number.isInteger(finalSubsets) && finalSubsets >= 1))
    throw new Error(`DFR: finalSubsets must be a positive integer, got ${finalSubsets}.`);
  const solver: SolverOptions = { seed: deriveSeed(seed, 'dfr-solver'), signal };
  const total = cGrid.length + finalSubsets;

  const tuneRng = createRng(deriveSeed(seed, 'dfr-tune'));
  const perm = shuffle(
    Array.from({ length: val.n }, (_, i) => i),
    tuneRng,
  );
  const half = Math.floor(val.n / 2);
  const heldout = perm.slice(0, half);
  const balancedFit = balancedSubset(val.groups, perm.slice(half), tuneRng);
  const tuning = await tuneDfrC(val, dim, classes, { balancedFit, heldout }, cGrid, solver);
  input.onProgress?.(cGrid.length, total);

  const hasTrain = !!input.train && input.train.n > 0;
  const scaler = hasTrain ? fitStandardScaler(input.train!.features, dim, input.train!.n) : fitStandardScaler(val.features, dim, val.n);
  const finalRng = createRng(deriveSeed(seed, 'dfr-final'));
  const all = Array.from({ length: val.n }, (_, i) => i);
  const subsets = Array.from({ length: finalSubsets }, () => balancedSubset(val.groups, all, finalRng));
  const final = await fitDfrFinal(val, dim, classes, scaler, subsets, tuning.chosenC, solver);
  input.onProgress?.(total, total);

  const sizes = new Map<number, number>();
  for (let i = 0; i < val.n; i++) sizes.set(val.groups[i], (sizes.get(val.groups[i]) ?? 0) + 1);
  const groups = [...sizes.entries()].sort((a, b) => a[0] - b[0]).map(([group, valRows]) => ({ group, valRows }));
  return {
    head: headOnRawFeatures(final.model, scaler, dim, classes),
    record: {
      method: 'DFR(Val): L1 logistic regression (liblinear objective), C tuned on val halves, averaged over group-balanced val subsets',
      seed,
      cGrid: [...cGrid],
      chosenC: tuning.chosenC,
      tuning: tuning.candidates,
      tuningRows: { balancedFit: balancedFit.length, heldout: heldout.length },
      scaler: hasTrain ? 'train' : 'val',
      scalerNote: hasTrain
        ? `standardised with the training set's statistics (${input.train!.n} rows), as the reference`
        : `no training features were given: standardised with the val split's statistics (${val.n} rows) instead of the training set's`,
      finalSubsets,
      subsetSize: subsets[0].length,
      rowsPerGroup: subsets[0].length / groups.length,
      groups,
      nonZeroWeights: countNonZero(final.model.coef),
      converged: tuning.converged && final.converged,
      solverViolation: Math.max(tuning.violation, final.violation),
    },
  };
}
