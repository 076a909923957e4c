// The two kinds of step l1Logistic.ts alternates on one binary problem
//   F(w) = ||w||_1 + sum_i C log(1 + exp(-y_i w . x_i)):
// - coordinateNewton: newGLMNET (Yuan, Ho & Lin 2012, liblinear's solver for this objective):
//   Newton steps on the smooth loss, each step's L1-regularised quadratic model solved by
//   randomised coordinate descent with shrinking, then a backtracking line search. It finds
//   which coefficients are non-zero, but crawls once features are strongly correlated.
// - supportNewton: with the non-zeros and their signs fixed, F is smooth; a Newton step with
//   the exact Hessian on the support (a Cholesky solve of at most n x n) converges
//   quadratically. A coefficient that would cross zero is set to zero instead.
// Both line searches sum the loss change per row as a difference (log1p form), so they still
// see progress when the subgradient is down to 1e-9.

import { cholesky, choleskySolve, gemmABt, symmetrizeFromUpper } from './matrix';
import type { Rng } from './rng';

/** A design matrix column by column (each column n contiguous values), the last column the constant 1. */
export interface Design {
  /** p x n, column-major: column j is cols[j * n .. (j + 1) * n) */
  cols: Float64Array;
  n: number;
  /** features + 1 (the intercept's column) */
  p: number;
}

/** A binary problem: the design, labels +1 / -1 and C. */
export interface BinaryProblem {
  design: Design;
  y: Int8Array;
  C: number;
}

/** Hessian diagonal floor, as liblinear: keeps a coordinate step finite on an all-zero column. */
const NU = 1e-12;
const MAX_INNER_SWEEPS = 1000;
const MAX_LINE_SEARCH = 30;
/** Largest change of one coordinate per update (liblinear's bound): a near-zero Hessian entry cannot throw the model off. */
const MAX_STEP = 10;
/** Armijo constant of the line searches (liblinear's sigma). */
const SIGMA = 0.01;

const softplus = (a: number) => (a > 0 ? a + Math.log1p(Math.exp(-a)) : Math.log1p(Math.exp(a)));
const sigmoid = (m: number) => (m >= 0 ? 1 / (1 + Math.exp(-m)) : Math.exp(m) / (1 + Math.exp(m)));

/** softplus(a + t) - softplus(a), accurate when t is tiny (the line search near the optimum). */
function softplusStep(a: number, t: number): number {
  const r = Math.log1p(sigmoid(a) * Math.expm1(t));
  return Number.isFinite(r) ? r : softplus(a + t) - softplus(a);
}

/** Change of the summed loss when every margin m_i moves by dm_i. */
function lossChange(prob: BinaryProblem, margin: Float64Array, dm: Float64Array): number {
  const { y, C } = prob;
  let change = 0;
  for (let i = 0; i < margin.length; i++) change += C * softplusStep(-y[i] * margin[i], -y[i] * dm[i]);
  return change;
}

/** Distance of 0 from the subdifferential of (smooth part + |w_j|) at w_j, given the smooth gradient G. */
export function violationOf(wj: number, G: number): number {
  if (wj > 0) return Math.abs(G + 1);
  if (wj < 0) return Math.abs(G - 1);
  return Math.max(0, Math.abs(G) - 1);
}

/** margin_i = w . x_i */
export function computeMargins(design: Design, w: Float64Array, margin: Float64Array): void {
  const { cols, n, p } = design;
  margin.fill(0);
  for (let j = 0; j < p; j++) {
    const wj = w[j];
    if (wj === 0) continue;
    const off = j * n;
    for (let i = 0; i < n; i++) margin[i] += wj * cols[off + i];
  }
}

/** First (g) and second (h) derivatives of each row's loss C log(1 + exp(-y m)) with respect to its margin m. */
export function rowDerivatives(prob: BinaryProblem, margin: Float64Array, g: Float64Array, h: Float64Array): void {
  const { y, C } = prob;
  for (let i = 0; i < margin.length; i++) {
    const p1 = sigmoid(margin[i]); // P(y = +1)
    g[i] = C * (p1 - (y[i] > 0 ? 1 : 0));
    h[i] = C * p1 * (1 - p1);
  }
}

/** Inner-solve accuracy carried across calls on one binary problem (liblinear's inner_eps and Gnorm1_init). */
export interface InnerTolerance {
  eps: number;
  gnormInit: number;
}

export interface StepResult {
  iterations: number;
  /** the line search found no decrease: double precision is exhausted, or (support Newton) the Hessian was singular */
  stalled: boolean;
}

/** newGLMNET on the coordinates `working` (the others stay fixed) until they are optimal to tol. */
export async function coordinateNewton(
  prob: BinaryProblem,
  w: Float64Array,
  working: Int32Array,
  tol: number,
  maxNewton: number,
  inner: InnerTolerance,
  rng: Rng,
  pause: () => Promise<void>,
): Promise<StepResult> {
  const { cols, n, p } = prob.design;
  const margin = new Float64Array(n); // w . x_i
  const g = new Float64Array(n); // d loss_i / d margin_i
  const h = new Float64Array(n); // d2 loss_i / d margin_i2
  const grad = new Float64Array(p);
  const hdiag = new Float64Array(p);
  const wpd = new Float64Array(p); // w + d, the Newton step's target
  const xd = new Float64Array(n); // x_i . d
  const index = Int32Array.from(working);
  const size = index.length;
  let gmaxOld = Infinity;

  for (let iter = 0; iter < maxNewton; iter++) {
    computeMargins(prob.design, w, margin);
    rowDerivatives(prob, margin, g, h);

    // gradient, Hessian diagonal and optimality over the working set; zeros deep inside the
    // subgradient box sit out this Newton step (liblinear's outer shrinking)
    let active = size;
    let gnorm = 0;
    let gmax = 0;
    for (let s = 0; s < active; s++) {
      const j = index[s];
      const off = j * n;
      let G = 0;
      let H = NU;
      for (let i = 0; i < n; i++) {
        const v = cols[off + i];
        G += v * g[i];
        H += v * v * h[i];
      }
      grad[j] = G;
      hdiag[j] = H;
      if (w[j] === 0 && G > -1 + gmaxOld / n && G < 1 - gmaxOld / n) {
        active--;
        index[s] = index[active];
        index[active] = j;
        s--;
        continue;
      }
      const v = violationOf(w[j], G);
      gmax = Math.max(gmax, v);
      gnorm += v;
    }
    await pause();
    if (inner.gnormInit < 0) inner.gnormInit = gnorm;
    if (gmax <= tol) return { iterations: iter, stalled: false };

    // coordinate descent on  grad . d + (1/2) sum_i h_i (x_i . d)^2 + ||w + d||_1
    wpd.set(w);
    xd.fill(0);
    let qActive = active;
    let qGmaxOld = Infinity;
    let sweeps = 0;
    while (sweeps < MAX_INNER_SWEEPS) {
      let qGmax = 0;
      let qGnorm = 0;
      for (let s = 0; s < qActive; s++) {
        const t = s + rng.int(qActive - s);
        const swap = index[s];
        index[s] = index[t];
        index[t] = swap;
      }
      for (let s = 0; s < qActive; s++) {
        const j = index[s];
        const off = j * n;
        const H = hdiag[j];
        let G = grad[j] + (wpd[j] - w[j]) * NU;
        for (let i = 0; i < n; i++) G += cols[off + i] * h[i] * xd[i];
        const wj = wpd[j];
        if (wj === 0 && G > -1 + qGmaxOld / n && G < 1 - qGmaxOld / n) {
          qActive--;
          index[s] = index[qActive];
          index[qActive] = j;
          s--;
          continue;
        }
        const v = violationOf(wj, G);
        qGmax = Math.max(qGmax, v);
        qGnorm += v;
        // exact minimiser of G z + H z^2 / 2 + |wj + z|
        let z = G + 1 < H * wj ? -(G + 1) / H : G - 1 > H * wj ? -(G - 1) / H : -wj;
        if (Math.abs(z) < 1e-14 * Math.max(1, Math.abs(wj))) continue;
        z = Math.min(Math.max(z, -MAX_STEP), MAX_STEP);
        wpd[j] = wj + z;
        for (let i = 0; i < n; i++) xd[i] += z * cols[off + i];
      }
      sweeps++;
      await pause();
      if (qGnorm <= inner.eps * inner.gnormInit) {
        if (qActive === active) break;
        // converged on the shrunk set: check the shrunk coordinates once more
        qActive = active;
        qGmaxOld = Infinity;
        continue;
      }
      qGmaxOld = qGmax;
    }
    // a quadratic solved in one sweep was solved too loosely to drive Newton further: tighten
    if (sweeps === 1) inner.eps *= 0.25;

    // backtracking on F(w + beta d) - F(w) <= sigma beta (grad . d + ||w + d||_1 - ||w||_1)
    let delta = 0;
    let l1Change = 0;
    for (let s = 0; s < size; s++) {
      const j = index[s];
      delta += grad[j] * (wpd[j] - w[j]);
      l1Change += Math.abs(wpd[j]) - Math.abs(w[j]);
    }
    delta += l1Change;
    let accepted = false;
    for (let ls = 0; ls < MAX_LINE_SEARCH && !accepted; ls++) {
      if (ls > 0) {
        l1Change = 0;
        for (let s = 0; s < size; s++) {
          const j = index[s];
          wpd[j] = w[j] + (wpd[j] - w[j]) / 2;
          l1Change += Math.abs(wpd[j]) - Math.abs(w[j]);
        }
        for (let i = 0; i < n; i++) xd[i] /= 2;
        delta /= 2;
      }
      accepted = l1Change + lossChange(prob, margin, xd) <= SIGMA * delta;
    }
    if (!accepted) return { iterations: iter + 1, stalled: true };
    for (let s = 0; s < size; s++) w[index[s]] = wpd[index[s]];
    gmaxOld = gmax;
  }
  return { iterations: maxNewton, stalled: false };
}

/**
 * Newton on the non-zeros of w with their signs fixed, until their part of the subgradient is
 * below tol. Zeros stay zero (the caller checks them); a coefficient that would cross zero
 * stops at zero (projection on the orthant). Stalls when the support has more coefficients
 * than rows (a singular Hessian) or the line search finds no decrease.
 */
export async function supportNewton(
  prob: BinaryProblem,
  w: Float64Array,
  tol: number,
  maxNewton: number,
  pause: () => Promise<void>,
): Promise<StepResult> {
  const { cols, n, p } = prob.design;
  const margin = new Float64Array(n);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const dm = new Float64Array(n);
  for (let iter = 0; iter < maxNewton; iter++) {
    const support = Int32Array.from({ length: p }, (_, j) => j).filter((j) => w[j] !== 0);
    const k = support.length;
    if (k === 0) return { iterations: iter, stalled: false };
    if (k > n) return { iterations: iter, stalled: true };
    computeMargins(prob.design, w, margin);
    rowDerivatives(prob, margin, g, h);

    // residual r = gradient of F on the orthant; Hessian B B^T with B's rows x_j * sqrt(h)
    const r = new Float64Array(k);
    const B = new Float64Array(k * n);
    let rmax = 0;
    for (let a = 0; a < k; a++) {
      const off = support[a] * n;
      let G = 0;
      for (let i = 0; i < n; i++) {
        const v = cols[off + i];
        G += v * g[i];
        B[a * n + i] = v * Math.sqrt(h[i]);
      }
      r[a] = G + Math.sign(w[support[a]]);
      rmax = Math.max(rmax, Math.abs(r[a]));
    }
    if (rmax <= tol) return { iterations: iter, stalled: false };
    const H = new Float64Array(k * k);
    gemmABt(B, B, H, k, k, n, false, true);
    symmetrizeFromUpper(H, k);
    for (let a = 0; a < k; a++) H[a * k + a] += NU + 1e-12 * H[a * k + a];
    try {
      cholesky(H, k);
    } catch {
      return { iterations: iter, stalled: true };
    }
    const d = choleskySolve(
      H,
      k,
      r.map((v) => -v),
      1,
    );
    await pause();

    // backtracking on the projected step: F(w') - F(w) <= sigma r . (w' - w)
    const next = new Float64Array(k);
    let accepted = false;
    for (let ls = 0, beta = 1; ls < MAX_LINE_SEARCH && !accepted; ls++, beta /= 2) {
      let predicted = 0;
      let l1Change = 0;
      dm.fill(0);
      for (let a = 0; a < k; a++) {
        const j = support[a];
        const t = w[j] + beta * d[a];
        next[a] = Math.sign(t) === Math.sign(w[j]) ? t : 0;
        const step = next[a] - w[j];
        predicted += r[a] * step;
        l1Change += Math.abs(next[a]) - Math.abs(w[j]);
        const off = j * n;
        for (let i = 0; i < n; i++) dm[i] += step * cols[off + i];
      }
      accepted = predicted < 0 && l1Change + lossChange(prob, margin, dm) <= SIGMA * predicted;
    }
    if (!accepted) return { iterations: iter + 1, stalled: true };
    for (let a = 0; a < k; a++) w[support[a]] = next[a];
  }
  return { iterations: maxNewton, stalled: false };
}
