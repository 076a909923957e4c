// The TLDR last layer: a fresh nn.Linear trained with cross-entropy on projected text embeddings,
// as tldr.py:rect_train_one_model. Float64 parameters and sums; torch's update rules verbatim so
// the reference's settings mean the same thing here. (The DFR reference is math/dfr.ts.)
//
// The trainer is async and yields to the event loop every few tens of milliseconds: the engine
// runs in a worker whose cancel request arrives as an IPC message, which a synchronous loop would
// never let through.

import { createRng, deriveSeed } from './rng';
import { throwIfAborted } from '../../shared/errors';
import { yielder } from './yielder';

export interface LinearHead {
  /** classes x dim, row-major (nn.Linear.weight layout) */
  weight: Float64Array;
  /** classes */
  bias: Float64Array;
}

export interface Batch {
  /** n x dim, row-major */
  x: Float32Array | Float64Array;
  /** n class indices */
  y: Int32Array;
  n: number;
}

export interface TrainLinearHeadOptions {
  dim: number;
  classes: number;
  optimizer: 'adamw' | 'sgd';
  lr: number;
  /** AdamW: decoupled (lr * wd * param); SGD: L2 added to the gradient. Applies to weight and bias, as torch's defaults. */
  weightDecay: number;
  /** SGD only; default 0.9 as the reference */
  momentum?: number;
  epochs: number;
  seed: number;
  /** 'cosine' = CosineAnnealingLR(T_max = epochs, eta_min 0) stepped once per epoch */
  schedule?: 'constant' | 'cosine';
  /** The batches of one epoch; the caller owns sampling (group balancing, shuffling, seeding). */
  nextEpoch: (epoch: number) => Iterable<Batch>;
  signal?: AbortSignal;
  /** mean training loss of the epoch (before each step, as a torch loop logs it) */
  onEpoch?: (epoch: number, loss: number) => void;
  /** 'pytorch' (default): nn.Linear's init from the seeded RNG; or explicit starting parameters (copied). */
  init?: 'pytorch' | LinearHead;
}

export interface TrainedHead extends LinearHead {
  losses: number[];
}

/** nn.Linear.reset_parameters: kaiming_uniform(a = sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias. */
export function initLinearPytorch(dim: number, classes: number, seed: number): LinearHead {
  const rng = createRng(deriveSeed(seed, 'linear-head-init'));
  const bound = 1 / Math.sqrt(dim);
  const weight = new Float64Array(classes * dim);
  const bias = new Float64Array(classes);
  for (let i = 0; i < weight.length; i++) weight[i] = (2 * rng.next() - 1) * bound;
  for (let i = 0; i < classes; i++) bias[i] = (2 * rng.next() - 1) * bound;
  return { weight, bias };
}

/**
 * Mean cross-entropy of a batch; writes d(loss)/d(weight) and d(loss)/d(bias) into gW, gb
 * (overwritten). `z` is scratch of length classes.
 */
export function crossEntropyGrad(
  head: LinearHead,
  x: ArrayLike<number>,
  y: Int32Array,
  n: number,
  dim: number,
  classes: number,
  gW: Float64Array,
  gb: Float64Array,
  z: Float64Array,
): number {
  if (classes === 2) return crossEntropyGrad2(head, x, y, n, dim, gW, gb);
  const { weight, bias } = head;
  gW.fill(0);
  gb.fill(0);
  let loss = 0;
  const inv = 1 / n;
  for (let i = 0; i < n; i++) {
    const xi = i * dim;
    const label = y[i];
    if (!(label >= 0 && label < classes)) throw new Error(`Label ${label} at row ${i} is outside 0..${classes - 1}.`);
    let max = -Infinity;
    for (let c = 0; c < classes; c++) {
      const wc = c * dim;
      let s = bias[c];
      for (let j = 0; j < dim; j++) s += weight[wc + j] * x[xi + j];
      z[c] = s;
      if (s > max) max = s;
    }
    // stable log-softmax: lse = max + log(sum exp(z - max))
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(z[c] - max);
    const lse = max + Math.log(sum);
    loss += lse - z[label];
    for (let c = 0; c < classes; c++) {
      const g = (Math.exp(z[c] - lse) - (c === label ? 1 : 0)) * inv;
      gb[c] += g;
      if (g === 0) continue;
      const wc = c * dim;
      for (let j = 0; j < dim; j++) gW[wc + j] += g * x[xi + j];
    }
  }
  return loss * inv;
}

/**
 * crossEntropyGrad for two classes (the usual TLDR task), four rows at a time: one pass over the
 * features gives the four rows' two logits (eight independent sums, so the additions do not wait
 * on each other), a second pass adds the four rows' contributions to both gradient rows, so each
 * gradient entry is loaded and stored once per four rows instead of once per row. Scalar
 * JavaScript is bound by loads and stores here: this halves them. The sums are the textbook
 * formula's to ~1e-15 relative (added in another order). Typed arrays only (monomorphic loops).
 */
function crossEntropyGrad2(
  head: LinearHead,
  x: ArrayLike<number>,
  y: Int32Array,
  n: number,
  dim: number,
  gW: Float64Array,
  gb: Float64Array,
): number {
  const { weight: w, bias } = head;
  gW.fill(0);
  gb.fill(0);
  let loss = 0;
  const inv = 1 / n;
  const z0 = new Float64Array(4),
    z1 = new Float64Array(4),
    h0 = new Float64Array(4),
    h1 = new Float64Array(4);
  for (let i = 0; i < n; i += 4) {
    const rows = Math.min(4, n - i);
    const r0 = i * dim,
      r1 = rows > 1 ? r0 + dim : r0,
      r2 = rows > 2 ? r0 + 2 * dim : r0,
      r3 = rows > 3 ? r0 + 3 * dim : r0;
    let a0 = 0,
      a1 = 0,
      a2 = 0,
      a3 = 0,
      b0 = 0,
      b1 = 0,
      b2 = 0,
      b3 = 0;
    for (let j = 0; j < dim; j++) {
      const w0 = w[j],
        w1 = w[dim + j];
      const v0 = x[r0 + j],
        v1 = x[r1 + j],
        v2 = x[r2 + j],
        v3 = x[r3 + j];
      a0 += w0 * v0;
      a1 += w0 * v1;
      a2 += w0 * v2;
      a3 += w0 * v3;
      b0 += w1 * v0;
      b1 += w1 * v1;
      b2 += w1 * v2;
      b3 += w1 * v3;
    }
    z0[0] = a0;
    z0[1] = a1;
    z0[2] = a2;
    z0[3] = a3;
    z1[0] = b0;
    z1[1] = b1;
    z1[2] = b2;
    z1[3] = b3;
    for (let r = 0; r < 4; r++) {
      if (r >= rows) {
        // a short last block repeats row 0's offset: its extra rows add nothing
        h0[r] = 0;
        h1[r] = 0;
        continue;
      }
      const label = y[i + r];
      if (!(label === 0 || label === 1)) throw new Error(`Label ${label} at row ${i + r} is outside 0..1.`);
      const s0 = bias[0] + z0[r],
        s1 = bias[1] + z1[r];
      const max = s0 > s1 ? s0 : s1;
      const lse = max + Math.log(Math.exp(s0 - max) + Math.exp(s1 - max));
      loss += lse - (label === 0 ? s0 : s1);
      const g0 = (Math.exp(s0 - lse) - (label === 0 ? 1 : 0)) * inv;
      const g1 = (Math.exp(s1 - lse) - (label === 1 ? 1 : 0)) * inv;
      gb[0] += g0;
      gb[1] += g1;
      h0[r] = g0;
      h1[r] = g1;
    }
    const [p0, p1, p2, p3] = h0;
    const [q0, q1, q2, q3] = h1;
    for (let j = 0; j < dim; j++) {
      const v0 = x[r0 + j],
        v1 = x[r1 + j],
        v2 = x[r2 + j],
        v3 = x[r3 + j];
      gW[j] += p0 * v0 + p1 * v1 + (p2 * v2 + p3 * v3);
      gW[dim + j] += q0 * v0 + q1 * v1 + (q2 * v2 + q3 * v3);
    }
  }
  return loss * inv;
}

interface Optimizer {
  step(param: Float64Array, grad: Float64Array, slot: number, lr: number): void;
  tick(): void;
}

/** torch.optim.AdamW (amsgrad off): decay, moments, bias-corrected step. */
function adamW(weightDecay: number, sizes: number[], beta1 = 0.9, beta2 = 0.999, eps = 1e-8): Optimizer {
  const m = sizes.map((s) => new Float64Array(s));
  const v = sizes.map((s) => new Float64Array(s));
  let t = 0;
  return {
    tick: () => {
      t++;
    },
    step(param, grad, slot, lr) {
      const mi = m[slot],
        vi = v[slot];
      const bc1 = 1 - beta1 ** t;
      const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
      const stepSize = lr / bc1;
      const decay = 1 - lr * weightDecay;
      for (let i = 0; i < param.length; i++) {
        const g = grad[i];
        param[i] *= decay;
        mi[i] = beta1 * mi[i] + (1 - beta1) * g;
        vi[i] = beta2 * vi[i] + (1 - beta2) * g * g;
        param[i] -= (stepSize * mi[i]) / (Math.sqrt(vi[i]) / bc2Sqrt + eps);
      }
    },
  };
}

/** torch.optim.SGD (dampening 0, no Nesterov): g += wd p; buf = g on the first step, else momentum buf + g. */
function sgd(weightDecay: number, momentum: number, sizes: number[]): Optimizer {
  const buf = sizes.map((s) => new Float64Array(s));
  let t = 0;
  return {
    tick: () => {
      t++;
    },
    step(param, grad, slot, lr) {
      const b = buf[slot];
      for (let i = 0; i < param.length; i++) {
        const g = grad[i] + weightDecay * param[i];
        b[i] = momentum === 0 ? g : t === 1 ? g : momentum * b[i] + g;
        param[i] -= lr * b[i];
      }
    },
  };
}

export async function trainLinearHead(opts: TrainLinearHeadOptions): Promise<TrainedHead> {
  const { dim, classes, epochs, signal } = opts;
  if (!(dim > 0 && classes > 1)) throw new Error(`trainLinearHead: need dim > 0 and at least 2 classes (got ${dim}, ${classes}).`);
  const init = opts.init ?? 'pytorch';
  const head: LinearHead =
    init === 'pytorch'
      ? initLinearPytorch(dim, classes, opts.seed)
      : { weight: new Float64Array(init.weight), bias: new Float64Array(init.bias) };
  if (head.weight.length !== classes * dim || head.bias.length !== classes) throw new Error('trainLinearHead: init has the wrong shape.');
  const sizes = [classes * dim, classes];
  const opt = opts.optimizer === 'adamw' ? adamW(opts.weightDecay, sizes) : sgd(opts.weightDecay, opts.momentum ?? 0.9, sizes);
  const gW = new Float64Array(classes * dim);
  const gb = new Float64Array(classes);
  const z = new Float64Array(classes);
  const losses: number[] = [];
  const pause = yielder(signal);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const lr = opts.schedule === 'cosine' ? (opts.lr * (1 + Math.cos((Math.PI * epoch) / epochs))) / 2 : opts.lr;
    let total = 0;
    let seen = 0;
    for (const batch of opts.nextEpoch(epoch)) {
      await pause();
      if (batch.n === 0) continue;
      if (batch.x.length < batch.n * dim || batch.y.length < batch.n) throw new Error('trainLinearHead: batch is smaller than its n.');
      const loss = crossEntropyGrad(head, batch.x, batch.y, batch.n, dim, classes, gW, gb, z);
      opt.tick();
      opt.step(head.weight, gW, 0, lr);
      opt.step(head.bias, gb, 1, lr);
      total += loss * batch.n;
      seen += batch.n;
    }
    throwIfAborted(signal);
    const mean = seen > 0 ? total / seen : NaN;
    losses.push(mean);
    opts.onEpoch?.(epoch, mean);
  }
  return { ...head, losses };
}

/** X W^T + b for X n x dim: n x classes. */
export function logits(
  weight: Float64Array,
  bias: Float64Array,
  X: Float32Array | Float64Array,
  n: number,
  dim: number,
  classes: number,
): Float64Array {
  const out = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) {
    const xi = i * dim;
    for (let c = 0; c < classes; c++) {
      const wc = c * dim;
      let s = bias[c];
      for (let j = 0; j < dim; j++) s += weight[wc + j] * X[xi + j];
      out[i * classes + c] = s;
    }
  }
  return out;
}

/** argmax of the logits; ties go to the first class, as torch.argmax. */
export function predict(
  weight: Float64Array,
  bias: Float64Array,
  X: Float32Array | Float64Array,
  n: number,
  dim: number,
  classes: number,
): Int32Array {
  const z = logits(weight, bias, X, n, dim, classes);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (z[i * classes + c] > z[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}
