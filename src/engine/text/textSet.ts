// The text training set: every (accepted target word, accepted spurious word) pair is an
// example labelled with the target word's class and grouped by (class, spurious value).
// An example's CLIP embedding is the mean of its two words' embeddings under ONE template;
// the classifier sees P(x) = [ReLU](x W + b). P is linear before the ReLU, so each word's
// embeddings are projected once (U = e W) and an example costs D additions, not a d x D product.
import { createRng, shuffle, type Rng } from '../math/rng';
import { project } from '../math/projector';
import { ORT_MIN_MADDS, ortRowsTimes } from '../math/ortLinalg';
import type { ThreadChoice } from '../onnxSession';
import { l2normalizeRows } from '../math/vectors';

export interface TextSetInputs {
  /** per class: indices of its words in `embeddings` */
  targets: number[][];
  /** per spurious value: indices of its words in `embeddings` */
  spurious: number[][];
  /** [words, templates, d] CLIP text embeddings */
  embeddings: Float32Array;
  templates: number;
  d: number;
  W: Float64Array;
  b: Float64Array;
  D: number;
  relu: boolean;
  /** the reference's clip_normalize: unit-length word embeddings and example means */
  normalize: boolean;
}

export interface Batch {
  x: Float32Array;
  y: Int32Array;
  n: number;
}

export interface TextSet {
  groups: { label: number; spurious: number; pairs: number }[];
  /** examples drawn per epoch, balanced over groups */
  sampleEpoch(
    epoch: number,
    opts: { mode: 'balanced-with-replacement' | 'downsample'; examples: number; batchSize: number; augment: boolean; seed: number },
  ): Iterable<Batch>;
}

export async function buildTextSet(inp: TextSetInputs, threads?: ThreadChoice): Promise<TextSet> {
  const { d, D, templates: T } = inp;
  const rows = inp.embeddings.length / d;
  const E = inp.normalize ? l2normalizeRows(inp.embeddings, d) : inp.embeddings;
  // U = E W for every (word, template) row: [rows, D] (bias added per example). At the official
  // lists' size (700 words x 80 templates, d 512, D 2048: 6e10 multiply-adds per lambda) onnxruntime's
  // double GEMM on every thread; small sets stay in the TypeScript kernel (no session to create)
  const U =
    rows * d * D >= ORT_MIN_MADDS
      ? await ortRowsTimes(E, rows, inp.W, d, D, threads)
      : project(E, rows, inp.W, new Float64Array(D), d, D, false);

  const groups: { label: number; spurious: number; pairs: number }[] = [];
  inp.targets.forEach((t, c) => inp.spurious.forEach((s, v) => groups.push({ label: c, spurious: v, pairs: t.length * s.length })));

  const bias = Float32Array.from(inp.b);
  const relu = inp.relu;
  const example = (out: Float32Array, o: number, t: number, s: number, tpl: number) => {
    const rt = t * T + tpl;
    const rs = s * T + tpl;
    let scale = 0.5;
    if (inp.normalize) {
      // normalise (n_t + n_s) / 2: its length is sqrt(2 + 2 n_t.n_s) / 2
      let dot = 0;
      for (let j = 0; j < d; j++) dot += E[rt * d + j] * E[rs * d + j];
      scale = 1 / Math.sqrt(Math.max(2 + 2 * dot, 1e-12));
    }
    const a = U.subarray(rt * D, rt * D + D);
    const c = U.subarray(rs * D, rs * D + D);
    const dst = out.subarray(o, o + D);
    if (relu) {
      for (let j = 0; j < D; j++) {
        const v = (a[j] + c[j]) * scale + bias[j];
        dst[j] = v > 0 ? v : 0;
      }
    } else {
      for (let j = 0; j < D; j++) dst[j] = (a[j] + c[j]) * scale + bias[j];
    }
  };

  // Batches are materialised one at a time as the trainer asks: an epoch of 100k examples
  // at D = 2048 would otherwise hold 800 MB.
  function* batchesOf(draws: { c: number; t: number; s: number }[], templates: Int32Array, batchSize: number): Generator<Batch> {
    for (let start = 0; start < draws.length; start += batchSize) {
      const n = Math.min(batchSize, draws.length - start);
      const x = new Float32Array(n * D);
      const y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const dr = draws[start + i];
        example(x, i * D, dr.t, dr.s, templates[start + i]);
        y[i] = dr.c;
      }
      yield { x, y, n };
    }
  }

  return {
    groups,
    sampleEpoch(epoch, o) {
      const rng: Rng = createRng((o.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
      const draws: { c: number; t: number; s: number }[] = [];
      const G = groups.length;
      if (o.mode === 'downsample') {
        // the reference: each group downsampled (without replacement) to the smallest group
        const m = Math.min(...groups.map((g) => g.pairs));
        for (const g of groups) {
          const ts = inp.targets[g.label];
          const ss = inp.spurious[g.spurious];
          const picks = shuffle(
            Array.from({ length: g.pairs }, (_, i) => i),
            rng,
          ).slice(0, m);
          for (const p of picks) draws.push({ c: g.label, t: ts[Math.floor(p / ss.length)], s: ss[p % ss.length] });
        }
      } else {
        const per = Math.max(1, Math.round(o.examples / G));
        for (const g of groups) {
          const ts = inp.targets[g.label];
          const ss = inp.spurious[g.spurious];
          for (let i = 0; i < per; i++) draws.push({ c: g.label, t: ts[rng.int(ts.length)], s: ss[rng.int(ss.length)] });
        }
      }
      shuffle(draws, rng);
      // Templates are drawn now, so the epoch is fixed by the seed whatever the consumer does.
      const templates = Int32Array.from(draws, () => (o.augment ? rng.int(T) : 0));
      return batchesOf(draws, templates, o.batchSize);
    },
  };
}
