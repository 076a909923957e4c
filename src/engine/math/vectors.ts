// Row-wise helpers on row-major matrices.

/** Each row scaled to unit length (a zero row stays zero). */
export function l2normalizeRows(M: Float32Array, d: number): Float32Array {
  const out = new Float32Array(M.length);
  for (let r = 0; r < M.length / d; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += M[r * d + j] ** 2;
    const k = 1 / (Math.sqrt(s) || 1);
    for (let j = 0; j < d; j++) out[r * d + j] = M[r * d + j] * k;
  }
  return out;
}
