// Step "evaluate": per-group accuracy of the ERM head (the model as given), the TLDR head, the
// DFR reference and CLIP zero-shot with the class anchors, on val and test. DFR is fit on val,
// on its true groups when it has them, otherwise on CLIP's pseudo-groups; only test judges it.
import {
  headlineSplit,
  type HeadMetrics,
  type RunGallery,
  type RunJson,
  type RunMetrics,
  type SplitMetrics,
} from '../../protocol/runRecord';
import { predict, type LinearHead } from '../math/linearHead';
import { groupCounts, headMetrics } from '../math/metrics';
import { fitDfrReference } from '../math/dfr';
import { prototype, zeroShotPredict } from '../math/zeroShot';
import { embedPrompts } from '../text/embedPrompts';
import type { StepContext } from './context';
import type { EncodedData, SplitData } from './encodeData';
import type { LoadedClip } from './models';
import type { PseudoGroups } from './selection';
import { pickGallery } from './gallery';

/** Every row has a class and a spurious label: the split can be grouped. */
export const hasGroups = (s?: SplitData): s is SplitData =>
  !!s && s.n > 0 && s.labels.every((y) => y >= 0) && s.spurious.every((v) => v >= 0);

export interface Evaluation {
  metrics: RunMetrics;
  dfr?: NonNullable<RunJson['dfr']>;
  /** per-group examples of the headline split (image sources only) */
  gallery?: RunGallery;
}

export async function evaluateHeads(
  ctx: StepContext,
  data: EncodedData,
  heads: { erm: LinearHead; tldr: LinearHead },
  clip: LoadedClip,
  pseudo: PseudoGroups | undefined,
  D: number,
): Promise<Evaluation> {
  const { task, settings } = ctx.loaded.experiment;
  const C = task.classes.length;
  const S = task.spurious.values.length;
  // the reference's average weighs groups by the train mix; without train spurious labels, each split's own mix
  const trainCounts = hasGroups(data.train) ? groupCounts(data.train.labels, data.train.spurious, C, S) : null;
  const metricsOf = (pred: Int32Array, split: SplitData): HeadMetrics =>
    headMetrics(pred, split.labels, split.spurious, task.classes, task.spurious.values, trainCounts);
  const predictOn = (head: LinearHead, split: SplitData) => predict(head.weight, head.bias, split.features, split.n, D, C);
  const headOn = (head: LinearHead, split: SplitData) => metricsOf(predictOn(head, split), split);

  let dfr: { head: LinearHead; record: NonNullable<RunJson['dfr']> } | undefined;
  const val = data.val;
  const valSpurious = hasGroups(val) ? val.spurious : pseudo?.labels;
  if (val && valSpurious && val.labels.every((y) => y >= 0)) {
    const groups = hasGroups(val) ? ('val-groups' as const) : ('pseudo-groups' as const);
    const fit = await fitDfrReference({
      val: { features: val.features, labels: val.labels, n: val.n, groups: Int32Array.from(val.labels, (y, i) => y * S + valSpurious[i]) },
      train: { features: data.train.features, n: data.train.n },
      dim: D,
      classes: C,
      seed: settings.seed,
      signal: ctx.signal,
      onProgress: (done, total) => ctx.progress('evaluate', done, total, 'DFR reference'),
    });
    const r = fit.record;
    dfr = {
      head: fit.head,
      record: {
        groups,
        chosenC: r.chosenC,
        cGrid: r.cGrid,
        tuning: r.tuning,
        scaler: r.scaler,
        finalSubsets: r.finalSubsets,
        subsetSize: r.subsetSize,
        nonZeroWeights: r.nonZeroWeights,
        converged: r.converged,
      },
    };
    ctx.log(
      'info',
      `DFR reference on ${groups}: C ${r.chosenC}, ${r.finalSubsets} subsets of ${r.subsetSize} rows, scaler from ${r.scaler}`,
      'evaluate',
    );
  }

  const d = clip.model.dim;
  const anchors = await embedPrompts(clip.model, ctx.cache, clip.textNamespace, task.targetAnchors, ['{}'], { signal: ctx.signal });
  const classPrototypes = task.targetAnchors.map((_, c) => prototype([anchors.data.slice(c * d, (c + 1) * d)], d));

  const out: RunMetrics = {};
  const predictions = new Map<SplitData['name'], { erm: Int32Array; tldr: Int32Array }>();
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  for (const split of [data.val, data.test]) {
    if (!split || !split.labels.every((y) => y >= 0)) continue;
    const preds = { erm: predictOn(heads.erm, split), tldr: predictOn(heads.tldr, split) };
    predictions.set(split.name, preds);
    const m: SplitMetrics = { erm: metricsOf(preds.erm, split), tldr: metricsOf(preds.tldr, split) };
    if (dfr && split.name === 'test') Object.assign(m, { dfr: headOn(dfr.head, split), dfrGroups: dfr.record.groups });
    if (split.clip) m.clipZeroShot = metricsOf(zeroShotPredict(split.clip, split.n, classPrototypes, d), split);
    out[split.name as 'val' | 'test'] = m;
    const extra = [
      m.dfr ? `DFR (${m.dfrGroups}) ${pct(m.dfr.worstGroup)}` : '',
      m.clipZeroShot ? `CLIP zero-shot ${pct(m.clipZeroShot.worstGroup)}` : '',
    ];
    ctx.log(
      'info',
      `${split.name}: worst-group ERM ${pct(m.erm.worstGroup)}, TLDR ${pct(m.tldr.worstGroup)}${extra
        .filter(Boolean)
        .map((e) => `, ${e}`)
        .join('')}`,
      'evaluate',
    );
  }
  const headline = headlineSplit(out);
  const split = headline && data[headline];
  const preds = headline && predictions.get(headline);
  const gallery =
    split && preds
      ? pickGallery({
          split: headline,
          paths: split.paths,
          labels: split.labels,
          spurious: split.spurious,
          erm: preds.erm,
          tldr: preds.tldr,
          classes: task.classes,
          spuriousValues: task.spurious.values,
          seed: settings.seed,
        })
      : undefined;
  return { metrics: out, ...(dfr ? { dfr: dfr.record } : {}), ...(gallery ? { gallery } : {}) };
}
