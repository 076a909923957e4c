// Step "evaluate": per-group accuracy of the ERM head (the model as given), the TLDR head and a
// DFR reference on val and test. DFR is fit on val, so only test judges it.
import type { HeadMetrics, RunMetrics, SplitMetrics } from '../../protocol/runRecord';
import { fitLogisticRegression, predict, type LinearHead } from '../math/linearHead';
import { groupCounts, headMetrics } from '../math/metrics';
import { createRng, deriveSeed, shuffle } from '../math/rng';
import type { StepContext } from './context';
import type { EncodedData, SplitData } from './encodeData';

/** Metrics of a head on a split, with averages weighted by the train split's group shares. */
export type HeadEvaluator = (head: LinearHead, split: SplitData) => HeadMetrics;

/** Every row has a class and a spurious label: the split can be grouped. */
export const hasGroups = (s?: SplitData): s is SplitData =>
  !!s && s.n > 0 && s.labels.every((y) => y >= 0) && s.spurious.every((v) => v >= 0);

export function headEvaluator(ctx: StepContext, data: EncodedData, D: number): HeadEvaluator {
  const { task } = ctx.loaded.experiment;
  const trainCounts = hasGroups(data.train)
    ? groupCounts(data.train.labels, data.train.spurious, task.classes.length, task.spurious.values.length)
    : null;
  return (head, split) => {
    const pred = predict(head.weight, head.bias, split.features, split.n, D, task.classes.length);
    return headMetrics(pred, split.labels, split.spurious, task.classes, task.spurious.values, trainCounts);
  };
}

/** DFR reference: logistic regression on the val features, groups downsampled to the smallest. */
async function fitDfr(ctx: StepContext, val: SplitData, D: number): Promise<LinearHead> {
  const { task, settings } = ctx.loaded.experiment;
  const S = task.spurious.values.length;
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < val.n; i++) {
    const g = val.labels[i] * S + val.spurious[i];
    const rows = byGroup.get(g);
    if (rows) rows.push(i);
    else byGroup.set(g, [i]);
  }
  const m = Math.min(...[...byGroup.values()].map((r) => r.length));
  const rng = createRng(deriveSeed(settings.seed, 'dfr'));
  const rows = [...byGroup.keys()].sort((a, b) => a - b).flatMap((g) => shuffle([...byGroup.get(g)!], rng).slice(0, m));
  const X = new Float32Array(rows.length * D);
  rows.forEach((r, i) => X.set(val.features.subarray(r * D, (r + 1) * D), i * D));
  const y = Int32Array.from(rows, (r) => val.labels[r]);
  return fitLogisticRegression(X, y, rows.length, D, task.classes.length, { signal: ctx.signal });
}

export async function evaluateHeads(
  ctx: StepContext,
  data: EncodedData,
  heads: { erm: LinearHead; tldr: LinearHead },
  evaluate: HeadEvaluator,
  D: number,
): Promise<RunMetrics> {
  const dfr = hasGroups(data.val) ? await fitDfr(ctx, data.val, D) : undefined;
  const out: RunMetrics = {};
  for (const split of [data.val, data.test]) {
    if (!split || !split.labels.every((y) => y >= 0)) continue;
    const m: SplitMetrics = { erm: evaluate(heads.erm, split), tldr: evaluate(heads.tldr, split) };
    if (dfr && split.name === 'test') m.dfr = evaluate(dfr, split);
    out[split.name as 'val' | 'test'] = m;
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    ctx.log(
      'info',
      `${split.name}: worst-group ERM ${pct(m.erm.worstGroup)}, TLDR ${pct(m.tldr.worstGroup)}${m.dfr ? `, DFR ${pct(m.dfr.worstGroup)}` : ''}`,
      'evaluate',
    );
  }
  return out;
}
