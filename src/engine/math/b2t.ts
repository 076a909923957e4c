// The B2T keyword score (Bias-to-Text, Kim et al., CVPR 2024, alinlab/b2t) and its bootstrap
// interval. For one class and one keyword, s_i = cos(keyword, image i) on L2-normalised CLIP
// embeddings; score = mean over the misclassified images - mean over the correctly classified
// ones. The interval resamples both groups with replacement (each keeps its size); every keyword
// of a class sees the same resamples, so their intervals are comparable.
import { createRng } from './rng';

export interface BootstrapOptions {
  resamples: number;
  /** e.g. 0.95 */
  level: number;
  seed: number;
}

export interface B2TScore {
  score: number;
  meanMisclassified: number;
  meanCorrect: number;
  ci: [number, number];
}

/** Resampled row positions for the two groups: [resamples][group size], drawn once per class. */
export interface Resamples {
  wrong: Uint32Array[];
  right: Uint32Array[];
}

export function drawResamples(nWrong: number, nRight: number, opts: Pick<BootstrapOptions, 'resamples' | 'seed'>): Resamples {
  const rng = createRng(opts.seed);
  const draw = (n: number) => {
    const a = new Uint32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.int(n);
    return a;
  };
  const wrong: Uint32Array[] = [];
  const right: Uint32Array[] = [];
  for (let b = 0; b < opts.resamples; b++) {
    wrong.push(draw(nWrong));
    right.push(draw(nRight));
  }
  return { wrong, right };
}

const mean = (v: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s / v.length;
};

/** The q-quantile of sorted values, linear between order statistics (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The score of one keyword from its similarities to the misclassified (`wrong`) and correctly
 * classified (`right`) images of a class. Both groups must be non-empty.
 */
export function b2tScore(wrong: ArrayLike<number>, right: ArrayLike<number>, resamples: Resamples, level: number): B2TScore {
  if (wrong.length === 0 || right.length === 0) throw new Error('b2tScore needs misclassified and correctly classified images');
  const meanMisclassified = mean(wrong);
  const meanCorrect = mean(right);
  const B = resamples.wrong.length;
  const stats = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const iw = resamples.wrong[b];
    const ir = resamples.right[b];
    let sw = 0;
    for (let i = 0; i < iw.length; i++) sw += wrong[iw[i]];
    let sr = 0;
    for (let i = 0; i < ir.length; i++) sr += right[ir[i]];
    stats[b] = sw / iw.length - sr / ir.length;
  }
  stats.sort();
  const alpha = (1 - level) / 2;
  const score = meanMisclassified - meanCorrect;
  const ci: [number, number] = B > 0 ? [quantileSorted(stats, alpha), quantileSorted(stats, 1 - alpha)] : [score, score];
  return { score, meanMisclassified, meanCorrect, ci };
}

/** Row indices of `rows` sorted by descending similarity, the first `k`. */
export function topRows(sims: ArrayLike<number>, rows: readonly number[], k: number): number[] {
  return rows
    .map((r, i) => ({ r, s: sims[i] }))
    .sort((a, b) => b.s - a.s || a.r - b.r)
    .slice(0, k)
    .map((x) => x.r);
}
