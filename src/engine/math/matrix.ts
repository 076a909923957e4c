// Small dense linear algebra for the projector and the heads: row-major Float64Array with
// explicit dimensions. V8 does not vectorise, so speed comes from the memory layout: every
// product is reduced to C = A B^T over contiguous rows (dot products), computed with a 2x4
// register tile (6 loads per 8 multiply-adds, no stores in the inner loop) over cache-sized
// panels of B. Tall inputs (N up to ~5000) are streamed in row chunks that are transposed
// into a small scratch buffer, so no full-size transpose of X or Y is ever allocated.

/** Rows of a tall matrix handled per chunk: the transposed chunk of Y (D x CHUNK) stays a few MB. */
const CHUNK = 256;
/** Bytes of B kept hot per panel (about half of a typical L2). */
const PANEL_BYTES = 128 * 1024;

/**
 * C[i, j] (+)= sum_p A[i, p] * B[j, p] for i in [0, m), j in [0, n), A m x k, B n x k, C m x n.
 * With `upperOnly`, only j >= i (rounded out to whole tiles) is computed, for symmetric results.
 */
export function gemmABt(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  m: number,
  n: number,
  k: number,
  accumulate = false,
  upperOnly = false,
): void {
  if (!accumulate) C.fill(0, 0, m * n);
  if (m === 0 || n === 0 || k === 0) return;
  let panel = Math.floor(PANEL_BYTES / (8 * k));
  panel = Math.max(4, panel - (panel % 4));
  for (let j0 = 0; j0 < n; j0 += panel) {
    const j1 = Math.min(n, j0 + panel);
    const iEnd = upperOnly ? Math.min(m, j1) : m;
    let i = 0;
    for (; i + 1 < iEnd; i += 2) {
      const a0 = i * k;
      const a1 = a0 + k;
      let j = upperOnly ? Math.max(j0, i - (i % 4)) : j0;
      for (; j + 3 < j1; j += 4) {
        const b0 = j * k,
          b1 = b0 + k,
          b2 = b1 + k,
          b3 = b2 + k;
        let c00 = 0,
          c01 = 0,
          c02 = 0,
          c03 = 0,
          c10 = 0,
          c11 = 0,
          c12 = 0,
          c13 = 0;
        for (let p = 0; p < k; p++) {
          const x0 = A[a0 + p],
            x1 = A[a1 + p];
          const y0 = B[b0 + p],
            y1 = B[b1 + p],
            y2 = B[b2 + p],
            y3 = B[b3 + p];
          c00 += x0 * y0;
          c01 += x0 * y1;
          c02 += x0 * y2;
          c03 += x0 * y3;
          c10 += x1 * y0;
          c11 += x1 * y1;
          c12 += x1 * y2;
          c13 += x1 * y3;
        }
        const r0 = i * n + j,
          r1 = r0 + n;
        C[r0] += c00;
        C[r0 + 1] += c01;
        C[r0 + 2] += c02;
        C[r0 + 3] += c03;
        C[r1] += c10;
        C[r1 + 1] += c11;
        C[r1 + 2] += c12;
        C[r1 + 3] += c13;
      }
      for (; j < j1; j++) {
        const b0 = j * k;
        let c0 = 0,
          c1 = 0;
        for (let p = 0; p < k; p++) {
          const y = B[b0 + p];
          c0 += A[a0 + p] * y;
          c1 += A[a1 + p] * y;
        }
        C[i * n + j] += c0;
        C[(i + 1) * n + j] += c1;
      }
    }
    for (; i < iEnd; i++) {
      const a0 = i * k;
      for (let j = upperOnly ? Math.max(j0, i) : j0; j < j1; j++) {
        const b0 = j * k;
        let c = 0;
        for (let p = 0; p < k; p++) c += A[a0 + p] * B[b0 + p];
        C[i * n + j] += c;
      }
    }
  }
}

/** dst (cols x count) = transpose of rows [r0, r0 + count) of src (rows x cols). */
export function transposeRows(src: Float64Array | Float32Array, cols: number, r0: number, count: number, dst: Float64Array): void {
  for (let r = 0; r < count; r++) {
    const s = (r0 + r) * cols;
    for (let c = 0; c < cols; c++) dst[c * count + r] = src[s + c];
  }
}

export function transpose(src: Float64Array, rows: number, cols: number): Float64Array {
  const dst = new Float64Array(rows * cols);
  transposeRows(src, cols, 0, rows, dst);
  return dst;
}

/** Copy the upper triangle onto the lower one (n x n, in place). */
export function symmetrizeFromUpper(S: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) S[j * n + i] = S[i * n + j];
}

/** X^T X for X n x d: d x d, symmetric; only the upper triangle is computed, then mirrored. */
export function gramTN(X: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(d * d);
  const xt = new Float64Array(d * Math.min(CHUNK, n));
  for (let r0 = 0; r0 < n; r0 += CHUNK) {
    const c = Math.min(CHUNK, n - r0);
    transposeRows(X, d, r0, c, xt);
    gemmABt(xt, xt, out, d, d, c, true, true);
  }
  // the tiles straddling the diagonal also filled a few lower entries; mirroring overwrites them
  symmetrizeFromUpper(out, d);
  return out;
}

/** X^T Y for X n x d and Y n x D: d x D. */
export function matTN(X: Float64Array, Y: Float64Array, n: number, d: number, D: number): Float64Array {
  const out = new Float64Array(d * D);
  const c0 = Math.min(CHUNK, n);
  const xt = new Float64Array(d * c0);
  const yt = new Float64Array(D * c0);
  for (let r0 = 0; r0 < n; r0 += CHUNK) {
    const c = Math.min(CHUNK, n - r0);
    transposeRows(X, d, r0, c, xt);
    transposeRows(Y, D, r0, c, yt);
    gemmABt(xt, yt, out, d, D, c, true);
  }
  return out;
}

/** A B for A m x k and B k x n: m x n. */
export function matMul(A: Float64Array, B: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  gemmABt(A, transpose(B, k, n), out, m, n, k);
  return out;
}

/**
 * In-place Cholesky A = L L^T of an SPD n x n matrix; the lower triangle of A becomes L and
 * the strict upper triangle is zeroed. Throws when A is not (numerically) positive definite.
 */
export function cholesky(A: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let s = A[rj + j];
    for (let p = 0; p < j; p++) s -= A[rj + p] * A[rj + p];
    if (!(s > 0)) throw new Error(`Matrix is not positive definite (pivot ${j} = ${s}).`);
    const ljj = Math.sqrt(s);
    A[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let t = A[ri + j];
      for (let p = 0; p < j; p++) t -= A[ri + p] * A[rj + p];
      A[ri + j] = t / ljj;
    }
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) A[i * n + j] = 0;
  return A;
}

/** Solve L L^T X = B in place for B n x r (L from `cholesky`). */
export function choleskySolve(L: Float64Array, n: number, B: Float64Array, r: number): Float64Array {
  for (let i = 0; i < n; i++) {
    // forward: L Z = B, row-wise so the inner loops run along rows of B
    const ri = i * r;
    for (let p = 0; p < i; p++) {
      const l = L[i * n + p];
      if (l === 0) continue;
      const rp = p * r;
      for (let c = 0; c < r; c++) B[ri + c] -= l * B[rp + c];
    }
    const inv = 1 / L[i * n + i];
    for (let c = 0; c < r; c++) B[ri + c] *= inv;
  }
  for (let i = n - 1; i >= 0; i--) {
    // backward: L^T X = Z
    const ri = i * r;
    for (let p = i + 1; p < n; p++) {
      const l = L[p * n + i];
      if (l === 0) continue;
      const rp = p * r;
      for (let c = 0; c < r; c++) B[ri + c] -= l * B[rp + c];
    }
    const inv = 1 / L[i * n + i];
    for (let c = 0; c < r; c++) B[ri + c] *= inv;
  }
  return B;
}

/** (L^{-1})^T for a lower-triangular L, built row by row (row j = column j of L^{-1}) so every inner loop is contiguous. */
export function lowerInverseTransposed(L: Float64Array, n: number): Float64Array {
  const Mt = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    Mt[rj + j] = 1 / L[rj + j];
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = 0;
      for (let p = j; p < i; p++) s -= L[ri + p] * Mt[rj + p];
      Mt[rj + i] = s / L[ri + i];
    }
  }
  return Mt;
}

/** A^{-1} from its Cholesky factor: L^{-T} L^{-1}, with the triangular inverse then one fast product. */
export function choleskyInverse(L: Float64Array, n: number): Float64Array {
  const Mt = lowerInverseTransposed(L, n);
  // A^{-1} = M^T M with M = L^{-1}: A^{-1}[i, j] = dot(Mt[i], Mt[j])
  const out = new Float64Array(n * n);
  gemmABt(Mt, Mt, out, n, n, n, false, true);
  symmetrizeFromUpper(out, n);
  return out;
}
