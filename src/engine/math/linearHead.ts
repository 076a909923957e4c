// Softmax linear classifiers: the TLDR last layer (a fresh nn.Linear trained on projected text
// embeddings, as tldr.py:rect_train_one_model) and the DFR reference (logistic regression on
// group-balanced val features). Float64 parameters and sums; torch's update rules verbatim so the
// reference's settings mean the same thing here.
//
// Both trainers are async and yield to the event loop every few tens of milliseconds: the engine
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
 * crossEntropyGrad for two classes (the usual TLDR task), with the same arithmetic in the same
 * order, but each row of x is read once for both logits and once for both gradient rows
 * instead of once per class: about twice as fast on D = 2048.
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
  for (let i = 0; i < n; i++) {
    const xi = i * dim;
    const label = y[i];
    if (!(label === 0 || label === 1)) throw new Error(`Label ${label} at row ${i} is outside 0..1.`);
    let s0 = bias[0],
      s1 = bias[1];
    for (let j = 0; j < dim; j++) {
      const v = x[xi + j];
      s0 += w[j] * v;
      s1 += w[dim + j] * v;
    }
    const max = s0 > s1 ? s0 : s1;
    const lse = max + Math.log(Math.exp(s0 - max) + Math.exp(s1 - max));
    loss += lse - (label === 0 ? s0 : s1);
    const g0 = (Math.exp(s0 - lse) - (label === 0 ? 1 : 0)) * inv;
    const g1 = (Math.exp(s1 - lse) - (label === 1 ? 1 : 0)) * inv;
    gb[0] += g0;
    gb[1] += g1;
    for (let j = 0; j < dim; j++) {
      const v = x[xi + j];
      gW[j] += g0 * v;
      gW[dim + j] += g1 * v;
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

export interface LogisticRegressionOptions {
  /** inverse regularisation strength as sklearn's C: minimises C * sum(loss) + ||W||^2 / 2; default 1 */
  C?: number;
  /** standardise features with the training mean/std (as DFR's StandardScaler); default true */
  standardize?: boolean;
  /** L-BFGS iterations; default 500 */
  maxIter?: number;
  /** stop when max |gradient| of the mean objective is below this; default 1e-6 */
  tol?: number;
  signal?: AbortSignal;
}

export interface FittedLogisticRegression extends LinearHead {
  iterations: number;
  converged: boolean;
}

/**
 * Multinomial logistic regression by full-batch L-BFGS, for the DFR reference. DFR uses sklearn's
 * LogisticRegression with an L1 penalty over a C grid; this uses L2 (smooth, so plain L-BFGS
 * applies), which changes the sparsity of W but not the role of the reference. The bias is not
 * penalised (as sklearn). The returned head applies to RAW features: the standardisation is
 * folded into W and b.
 */
export async function fitLogisticRegression(
  X: Float32Array | Float64Array,
  y: Int32Array,
  n: number,
  dim: number,
  classes: number,
  options: LogisticRegressionOptions = {},
): Promise<FittedLogisticRegression> {
  const Creg = options.C ?? 1;
  if (!(Creg > 0)) throw new Error(`fitLogisticRegression: C must be > 0, got ${Creg}.`);
  if (n === 0) throw new Error('fitLogisticRegression: no training rows.');
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim).fill(1);
  if (options.standardize ?? true) {
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += X[i * dim + j];
    for (let j = 0; j < dim; j++) mean[j] /= n;
    const v = new Float64Array(dim);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) v[j] += (X[i * dim + j] - mean[j]) ** 2;
    for (let j = 0; j < dim; j++) {
      const s = Math.sqrt(v[j] / n);
      std[j] = s > 1e-12 ? s : 1;
    } // ddof 0, constant -> 1, as StandardScaler
  }
  const Z = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) Z[i * dim + j] = (X[i * dim + j] - mean[j]) / std[j];

  // objective divided by C n: mean CE + ||W||^2 / (2 C n); parameters packed as [W, b]
  const nw = classes * dim;
  const alpha = 1 / (Creg * n);
  const gW = new Float64Array(nw);
  const gb = new Float64Array(classes);
  const z = new Float64Array(classes);
  const fg = (theta: Float64Array, grad: Float64Array): number => {
    const head = { weight: theta.subarray(0, nw), bias: theta.subarray(nw) };
    let f = crossEntropyGrad(head, Z, y, n, dim, classes, gW, gb, z);
    for (let i = 0; i < nw; i++) {
      f += 0.5 * alpha * theta[i] * theta[i];
      grad[i] = gW[i] + alpha * theta[i];
    }
    grad.set(gb, nw);
    return f;
  };
  const theta0 = new Float64Array(nw + classes);
  const res = await lbfgs(fg, theta0, options.maxIter ?? 500, options.tol ?? 1e-6, options.signal);

  // fold the scaler: w . (x - mu) / s + b = (w / s) . x + (b - sum w mu / s)
  const weight = new Float64Array(nw);
  const bias = new Float64Array(classes);
  for (let c = 0; c < classes; c++) {
    let shift = 0;
    for (let j = 0; j < dim; j++) {
      const w = res.x[c * dim + j] / std[j];
      weight[c * dim + j] = w;
      shift += w * mean[j];
    }
    bias[c] = res.x[nw + c] - shift;
  }
  return { weight, bias, iterations: res.iterations, converged: res.converged };
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const maxAbs = (a: Float64Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

/** Limited-memory BFGS (two-loop recursion, memory 10) with Armijo backtracking; for smooth convex objectives. */
async function lbfgs(
  fg: (x: Float64Array, g: Float64Array) => number,
  x0: Float64Array,
  maxIter: number,
  tol: number,
  signal?: AbortSignal,
): Promise<{ x: Float64Array; iterations: number; converged: boolean }> {
  const P = x0.length;
  const mem = 10;
  let x = new Float64Array(x0);
  let g = new Float64Array(P);
  let f = fg(x, g);
  const S: Float64Array[] = [],
    Yv: Float64Array[] = [],
    rho: number[] = [];
  const d = new Float64Array(P);
  const alphas = new Float64Array(mem);
  const pause = yielder(signal);
  for (let iter = 0; iter < maxIter; iter++) {
    await pause();
    if (maxAbs(g) < tol) return { x, iterations: iter, converged: true };
    // d = -H g
    for (let i = 0; i < P; i++) d[i] = -g[i];
    for (let h = S.length - 1; h >= 0; h--) {
      const a = rho[h] * dot(S[h], d);
      alphas[h] = a;
      const yh = Yv[h];
      for (let i = 0; i < P; i++) d[i] -= a * yh[i];
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last], Yv[last]) / dot(Yv[last], Yv[last]);
      for (let i = 0; i < P; i++) d[i] *= gamma;
    }
    for (let h = 0; h < S.length; h++) {
      const beta = rho[h] * dot(Yv[h], d);
      const sh = S[h];
      for (let i = 0; i < P; i++) d[i] += (alphas[h] - beta) * sh[i];
    }
    let gd = dot(g, d);
    if (!(gd < 0)) {
      // not a descent direction: restart from steepest descent
      S.length = 0;
      Yv.length = 0;
      rho.length = 0;
      for (let i = 0; i < P; i++) d[i] = -g[i];
      gd = -dot(g, g);
    }
    // first step has no curvature information: keep it short
    let step = S.length === 0 ? Math.min(1, 1 / Math.sqrt(-gd)) : 1;
    const xn = new Float64Array(P);
    const gn = new Float64Array(P);
    let fn = Infinity;
    for (let tries = 0; tries < 50; tries++) {
      for (let i = 0; i < P; i++) xn[i] = x[i] + step * d[i];
      fn = fg(xn, gn);
      if (fn <= f + 1e-4 * step * gd) break;
      step *= 0.5;
    }
    if (!(fn <= f)) return { x, iterations: iter, converged: false }; // no progress possible at this precision
    const s = new Float64Array(P),
      yv = new Float64Array(P);
    for (let i = 0; i < P; i++) {
      s[i] = xn[i] - x[i];
      yv[i] = gn[i] - g[i];
    }
    const sy = dot(s, yv);
    if (sy > 1e-12 * dot(yv, yv)) {
      // keep the inverse-Hessian estimate positive definite
      if (S.length === mem) {
        S.shift();
        Yv.shift();
        rho.shift();
      }
      S.push(s);
      Yv.push(yv);
      rho.push(1 / sy);
    }
    const fPrev = f;
    x = xn;
    g = gn;
    f = fn;
    if (fPrev - f <= 1e-15 * Math.max(1, Math.abs(f)) && maxAbs(g) < Math.sqrt(tol)) return { x, iterations: iter + 1, converged: true };
  }
  return { x, iterations: maxIter, converged: maxAbs(g) < tol };
}
