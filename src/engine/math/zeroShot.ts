// CLIP zero-shot classification: each image goes to the prototype its embedding is closest to
// in angle. A prototype is the normalised mean of unit text embeddings (an anchor prompt, the
// template-averaged embeddings of a value's words), as CLIP's own zero-shot ensembling does.

/** Unit vector of the mean of the given rows, each first scaled to unit length. */
export function prototype(rows: Float32Array[], d: number): Float32Array {
  const out = new Float32Array(d);
  for (const r of rows) {
    let s = 0;
    for (let j = 0; j < d; j++) s += r[j] * r[j];
    const k = 1 / (Math.sqrt(s) || 1);
    for (let j = 0; j < d; j++) out[j] += r[j] * k;
  }
  let s = 0;
  for (let j = 0; j < d; j++) s += out[j] * out[j];
  const k = 1 / (Math.sqrt(s) || 1);
  for (let j = 0; j < d; j++) out[j] *= k;
  return out;
}

/** The mean over templates of one word's rows in a [words, templates, d] block. */
export function templateMean(data: Float32Array, word: number, templates: number, d: number): Float32Array {
  const out = new Float32Array(d);
  const base = word * templates * d;
  for (let t = 0; t < templates; t++) for (let j = 0; j < d; j++) out[j] += data[base + t * d + j];
  for (let j = 0; j < d; j++) out[j] /= templates;
  return out;
}

/** argmax over prototypes of cos(image, prototype), for n images [n, d]; ties go to the first. */
export function zeroShotPredict(images: Float32Array, n: number, prototypes: Float32Array[], d: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestScore = -Infinity;
    prototypes.forEach((p, k) => {
      // the image's norm is the same for every prototype: the dot product ranks as the cosine does
      let dot = 0;
      for (let j = 0; j < d; j++) dot += images[i * d + j] * p[j];
      if (dot > bestScore) {
        bestScore = dot;
        best = k;
      }
    });
    out[i] = best;
  }
  return out;
}
