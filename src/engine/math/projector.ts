// The TLDR projector P: CLIP space (d) -> classifier feature space (D), in closed form exactly as
// the reference (tldr.py, proj_method=analytic): ridge without intercept on uncentred X, Y, the
// constraint G W = 0 (so P(e + g) = P(e) for every gap row g), and the bias as the mean residual.
//   A = X^T X + lambda I;  beta = A^{-1} X^T Y;  W = beta - A^{-1} G^T (G A^{-1} G^T)^{-1} G beta
//   b = mean_i (Y_i - X_i W)
// All in Float64 (the reference inverts in float64 numpy).

import { cholesky, choleskyInverse, choleskySolve, gemmABt, gramTN, matMul, matTN, transpose } from './matrix';

export interface Projector {
  /** d x D, row-major */
  W: Float64Array;
  /** D */
  b: Float64Array;
}

export function fitProjector(
  X: Float64Array, Y: Float64Array, n: number, d: number, D: number,
  G: Float64Array | null, k: number, lambda: number,
): Projector {
  if (!(n > 0)) throw new Error('fitProjector: no training rows.');
  if (X.length < n * d || Y.length < n * D) throw new Error(`fitProjector: X or Y is smaller than ${n} rows.`);
  if (!(lambda >= 0)) throw new Error(`fitProjector: lambda must be >= 0, got ${lambda}.`);
  const A = gramTN(X, n, d);
  for (let i = 0; i < d; i++) A[i * d + i] += lambda;
  const XtY = matTN(X, Y, n, d, D);
  // A^{-1} explicitly (as the reference does): it is needed twice (beta and A^{-1} G^T), and
  // multiplying by it uses the fast product, unlike d x D triangular solves.
  const Ainv = choleskyInverse(cholesky(A, d), d);
  const beta = matMul(Ainv, XtY, d, d, D);
  let W = beta;
  if (G && k > 0) {
    if (G.length < k * d) throw new Error(`fitProjector: G is smaller than ${k} x ${d}.`);
    // Z = A^{-1} G^T (d x k); Ainv is symmetric, so row i of Z is dot(Ainv[i], G[r]) over r
    const Z = new Float64Array(d * k);
    gemmABt(Ainv, G, Z, d, k, d);
    // S = G A^{-1} G^T (k x k, SPD when G has full row rank); T = S^{-1} (G beta) (k x D)
    const S = new Float64Array(k * k);
    gemmABt(G, transpose(Z, d, k), S, k, k, d);
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) { // exact symmetry for Cholesky
      const v = 0.5 * (S[i * k + j] + S[j * k + i]);
      S[i * k + j] = v; S[j * k + i] = v;
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
  const meanX = new Float64Array(d);
  const meanY = new Float64Array(D);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) meanX[j] += X[i * d + j];
    for (let j = 0; j < D; j++) meanY[j] += Y[i * D + j];
  }
  const b = new Float64Array(D);
  for (let j = 0; j < D; j++) b[j] = meanY[j] / n;
  for (let p = 0; p < d; p++) {
    const mx = meanX[p] / n;
    if (mx === 0) continue;
    const row = p * D;
    for (let j = 0; j < D; j++) b[j] -= mx * W[row + j];
  }
  return { W, b };
}

/** P(E) = E W + b (optionally ReLU, as the reference for ResNet-50) for E m x d: m x D in Float32. */
export function project(
  E: Float64Array | Float32Array, m: number, W: Float64Array, b: Float64Array,
  d: number, D: number, relu: boolean,
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
    else { // widen Float32 input once per chunk: keeps the kernel monomorphic and the sums in double
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
