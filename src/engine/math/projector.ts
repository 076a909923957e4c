// The TLDR projector P: CLIP space (d) -> classifier feature space (D), in closed form exactly as
// the reference (tldr.py, proj_method=analytic): ridge without intercept on uncentred X, Y, the
// constraint G W = 0 (so P(e + g) = P(e) for every gap row g), and the bias as the mean residual.
//   A = X^T X + lambda I;  beta = A^{-1} X^T Y;  W = beta - A^{-1} G^T (G A^{-1} G^T)^{-1} G beta
//   b = mean_i (Y_i - X_i W)
// All in Float64 (the reference inverts in float64 numpy).

// fitProjectorAsync computes the same thing with the three large Float64 products (X^T X, X^T Y,
// A^{-1} X^T Y) in onnxruntime (ortLinalg.ts) once the problem is big enough to pay for it.
// The moments (X^T X, X^T Y, column means) do not depend on lambda: compute them once with
// projectorMoments[Async] and solve per lambda with projectorFromMoments[Async].

import { cholesky, choleskyInverse, choleskySolve, gemmABt, gramTN, lowerInverseTransposed, matMul, matTN, transpose } from './matrix';
import { ORT_MIN_MADDS, ortGram, ortInverseTimes } from './ortLinalg';
import type { ThreadChoice } from '../onnxSession';

export interface Projector {
  /** d x D, row-major */
  W: Float64Array;
  /** D */
  b: Float64Array;
}

/** Everything the fit needs from the N training rows. */
export interface ProjectorMoments {
  n: number;
  d: number;
  D: number;
  /** d x d */
  XtX: Float64Array;
  /** d x D */
  XtY: Float64Array;
  /** column means of X (d) and Y (D) */
  meanX: Float64Array;
  meanY: Float64Array;
}

function checkRows(X: Float64Array, Y: Float64Array, n: number, d: number, D: number): void {
  if (!(n > 0)) throw new Error('fitProjector: no training rows.');
  if (X.length < n * d || Y.length < n * D) throw new Error(`fitProjector: X or Y is smaller than ${n} rows.`);
}

function means(X: Float64Array, Y: Float64Array, n: number, d: number, D: number): { meanX: Float64Array; meanY: Float64Array } {
  const meanX = new Float64Array(d);
  const meanY = new Float64Array(D);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) meanX[j] += X[i * d + j];
    for (let j = 0; j < D; j++) meanY[j] += Y[i * D + j];
  }
  for (let j = 0; j < d; j++) meanX[j] /= n;
  for (let j = 0; j < D; j++) meanY[j] /= n;
  return { meanX, meanY };
}

export function projectorMoments(X: Float64Array, Y: Float64Array, n: number, d: number, D: number): ProjectorMoments {
  checkRows(X, Y, n, d, D);
  return { n, d, D, XtX: gramTN(X, n, d), XtY: matTN(X, Y, n, d, D), ...means(X, Y, n, d, D) };
}

/** As projectorMoments; the products run in onnxruntime (all cores, vectorised) when large. */
export async function projectorMomentsAsync(
  X: Float64Array,
  Y: Float64Array,
  n: number,
  d: number,
  D: number,
  threads?: ThreadChoice,
): Promise<ProjectorMoments> {
  checkRows(X, Y, n, d, D);
  if (n * d * (d + D) < ORT_MIN_MADDS) return projectorMoments(X, Y, n, d, D);
  const { XtX, XtY } = await ortGram(X, Y, n, d, D, threads);
  return { n, d, D, XtX, XtY, ...means(X, Y, n, d, D) };
}

function choleskyOfA(m: ProjectorMoments, lambda: number): Float64Array {
  if (!(lambda >= 0)) throw new Error(`fitProjector: lambda must be >= 0, got ${lambda}.`);
  const { d } = m;
  const A = new Float64Array(m.XtX);
  for (let i = 0; i < d; i++) A[i * d + i] += lambda;
  return cholesky(A, d);
}

/** W = beta - A^{-1} G^T (G A^{-1} G^T)^{-1} G beta, and b = mean(Y) - mean(X) W. */
function constrain(m: ProjectorMoments, Ainv: Float64Array, beta: Float64Array, G: Float64Array | null, k: number): Projector {
  const { d, D } = m;
  let W = beta;
  if (G && k > 0) {
    if (G.length < k * d) throw new Error(`fitProjector: G is smaller than ${k} x ${d}.`);
    // Z = A^{-1} G^T (d x k); Ainv is symmetric, so row i of Z is dot(Ainv[i], G[r]) over r
    const Z = new Float64Array(d * k);
    gemmABt(Ainv, G, Z, d, k, d);
    // S = G A^{-1} G^T (k x k, SPD when G has full row rank); T = S^{-1} (G beta) (k x D)
    const S = new Float64Array(k * k);
    gemmABt(G, transpose(Z, d, k), S, k, k, d);
    for (let i = 0; i < k; i++)
      for (let j = i + 1; j < k; j++) {
        // exact symmetry for Cholesky
        const v = 0.5 * (S[i * k + j] + S[j * k + i]);
        S[i * k + j] = v;
        S[j * k + i] = v;
      }
    let L: Float64Array;
    try {
      L = cholesky(S, k);
    } catch {
      throw new Error(`fitProjector: G A^{-1} G^T is singular; the ${k} gap rows are linearly dependent (use their mean).`);
    }
    const T = choleskySolve(L, k, matMul(G, beta, k, d, D), D);
    // W = beta - Z T
    W = new Float64Array(beta);
    const correction = matMul(Z, T, d, k, D);
    for (let i = 0; i < W.length; i++) W[i] -= correction[i];
  }
  // mean_i (Y_i - X_i W) = mean(Y) - mean(X) W: the same value without an N x D product
  const b = new Float64Array(m.meanY);
  for (let p = 0; p < d; p++) {
    const mx = m.meanX[p];
    if (mx === 0) continue;
    const row = p * D;
    for (let j = 0; j < D; j++) b[j] -= mx * W[row + j];
  }
  return { W, b };
}

export function projectorFromMoments(m: ProjectorMoments, G: Float64Array | null, k: number, lambda: number): Projector {
  // A^{-1} explicitly (as the reference does): it is needed twice (beta and A^{-1} G^T), and
  // multiplying by it uses the fast product, unlike d x D triangular solves.
  const Ainv = choleskyInverse(choleskyOfA(m, lambda), m.d);
  return constrain(m, Ainv, matMul(Ainv, m.XtY, m.d, m.d, m.D), G, k);
}

export async function projectorFromMomentsAsync(
  m: ProjectorMoments,
  G: Float64Array | null,
  k: number,
  lambda: number,
  threads?: ThreadChoice,
): Promise<Projector> {
  const { d, D } = m;
  if (d * d * D < ORT_MIN_MADDS) return projectorFromMoments(m, G, k, lambda);
  // A^{-1} = L^{-T} L^{-1} = Mt Mt^T, and beta = A^{-1} X^T Y, both in onnxruntime
  const Mt = lowerInverseTransposed(choleskyOfA(m, lambda), d);
  const { S: Ainv, P: beta } = await ortInverseTimes(Mt, m.XtY, d, D, threads);
  return constrain(m, Ainv, beta, G, k);
}

export function fitProjector(
  X: Float64Array,
  Y: Float64Array,
  n: number,
  d: number,
  D: number,
  G: Float64Array | null,
  k: number,
  lambda: number,
): Projector {
  checkRows(X, Y, n, d, D);
  if (!(lambda >= 0)) throw new Error(`fitProjector: lambda must be >= 0, got ${lambda}.`);
  return projectorFromMoments(projectorMoments(X, Y, n, d, D), G, k, lambda);
}

/** fitProjector with the large products in onnxruntime: the same result to ~1e-12 relative, several times faster at N = 5000, d = 512, D = 2048. */
export async function fitProjectorAsync(
  X: Float64Array,
  Y: Float64Array,
  n: number,
  d: number,
  D: number,
  G: Float64Array | null,
  k: number,
  lambda: number,
  threads?: ThreadChoice,
): Promise<Projector> {
  checkRows(X, Y, n, d, D);
  if (!(lambda >= 0)) throw new Error(`fitProjector: lambda must be >= 0, got ${lambda}.`);
  return projectorFromMomentsAsync(await projectorMomentsAsync(X, Y, n, d, D, threads), G, k, lambda, threads);
}

/** P(E) = E W + b (optionally ReLU, as the reference for ResNet-50) for E m x d: m x D in Float32. */
export function project(
  E: Float64Array | Float32Array,
  m: number,
  W: Float64Array,
  b: Float64Array,
  d: number,
  D: number,
  relu: boolean,
): Float32Array {
  const out = new Float32Array(m * D);
  if (m === 0) return out;
  const Wt = transpose(W, d, D); // D x d: each output is a contiguous dot product
  const rows = Math.max(1, Math.min(m, 64));
  const buf = new Float64Array(rows * d);
  const acc = new Float64Array(rows * D);
  for (let r0 = 0; r0 < m; r0 += rows) {
    const c = Math.min(rows, m - r0);
    let e: Float64Array;
    if (E instanceof Float64Array) e = E.subarray(r0 * d, (r0 + c) * d);
    else {
      // widen Float32 input once per chunk: keeps the kernel monomorphic and the sums in double
      for (let i = 0, s = r0 * d; i < c * d; i++) buf[i] = E[s + i];
      e = buf;
    }
    gemmABt(e, Wt, acc, c, D, d);
    for (let i = 0; i < c; i++) {
      const o = (r0 + i) * D;
      const a = i * D;
      for (let j = 0; j < D; j++) {
        const v = acc[a + j] + b[j];
        out[o + j] = relu && v < 0 ? 0 : v;
      }
    }
  }
  return out;
}
