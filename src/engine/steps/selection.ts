// Model selection on the val split without test: which val score chooses among the candidates
// (projector lambda x weight decay), per settings.selection. With spurious labels on every val
// row, groups are (class, spurious value); without them, CLIP assigns each val image a spurious
// value (pseudo-groups), and class-balanced or worst-class accuracy need class labels only.
import type { Experiment } from '../../experiment';
import type { PseudoLabelRecord, SelectionUsed } from '../../protocol/runRecord';
import type { SplitData } from './encodeData';
import { zeroShotPredict } from '../math/zeroShot';

export interface SelectionPlan {
  requested: Experiment['settings']['selection'];
  mode: SelectionUsed;
  reason: string;
  /** the score in words, for the log and run.json */
  on: string;
  /** higher is better; undefined when nothing can be selected */
  score?: (pred: Int32Array) => number;
}

/** Per-row spurious values CLIP gives val (from the spurious anchors and words), with how they were made. */
export interface PseudoGroups {
  labels: Int32Array;
  record: PseudoLabelRecord;
}

/** Worst accuracy over the (class, spurious value) cells present; NaN when none is. */
export function worstGroupAccuracy(pred: Int32Array, labels: Int32Array, spurious: Int32Array, C: number, S: number): number {
  const total = new Float64Array(C * S);
  const correct = new Float64Array(C * S);
  for (let i = 0; i < pred.length; i++) {
    if (labels[i] < 0 || spurious[i] < 0) continue;
    const g = labels[i] * S + spurious[i];
    total[g]++;
    if (pred[i] === labels[i]) correct[g]++;
  }
  let worst = Infinity;
  for (let g = 0; g < C * S; g++) if (total[g] > 0) worst = Math.min(worst, correct[g] / total[g]);
  return worst === Infinity ? NaN : worst;
}

/** Accuracy per class over the rows with a class label (NaN for a class with none). */
export function classAccuracies(pred: Int32Array, labels: Int32Array, C: number): number[] {
  const total = new Float64Array(C);
  const correct = new Float64Array(C);
  for (let i = 0; i < pred.length; i++) {
    if (labels[i] < 0) continue;
    total[labels[i]]++;
    if (pred[i] === labels[i]) correct[labels[i]]++;
  }
  return Array.from(total, (t, c) => (t > 0 ? correct[c] / t : NaN));
}

const present = (xs: number[]) => xs.filter((x) => !Number.isNaN(x));

export function planSelection(exp: Experiment, val: SplitData | undefined, pseudo: PseudoGroups | undefined): SelectionPlan {
  const requested = exp.settings.selection;
  const C = exp.task.classes.length;
  const S = exp.task.spurious.values.length;
  const none = (reason: string): SelectionPlan => ({ requested, mode: 'none', reason, on: 'nothing (the first candidate is used)' });
  if (!val || val.n === 0) return none('there is no val split');
  if (!val.labels.every((y) => y >= 0)) return none('val rows lack class labels');
  const trueGroups = val.spurious.every((v) => v >= 0);
  const mode: Exclude<SelectionUsed, 'none'> = requested === 'auto' ? (trueGroups ? 'val-groups' : 'pseudo-groups') : requested;
  const reason =
    requested === 'auto'
      ? trueGroups
        ? 'auto: every val row has a spurious label'
        : 'auto: val rows lack spurious labels, so CLIP assigns them'
      : `settings.selection is "${requested}"`;
  switch (mode) {
    case 'val-groups':
      if (!trueGroups)
        return none(`settings.selection is "val-groups" but ${val.spurious.filter((v) => v < 0).length} val rows have no spurious label`);
      return {
        requested,
        mode,
        reason,
        on: 'val worst-group accuracy',
        score: (p) => worstGroupAccuracy(p, val.labels, val.spurious, C, S),
      };
    case 'pseudo-groups': {
      if (!pseudo) return none('CLIP could not assign spurious values to val (it needs CLIP embeddings of the val images)');
      return {
        requested,
        mode,
        reason,
        on: 'val worst pseudo-group accuracy',
        score: (p) => worstGroupAccuracy(p, val.labels, pseudo.labels, C, S),
      };
    }
    case 'class-balanced':
      return {
        requested,
        mode,
        reason,
        on: 'val class-balanced accuracy',
        score: (p) => {
          const acc = present(classAccuracies(p, val.labels, C));
          return acc.reduce((a, b) => a + b, 0) / acc.length;
        },
      };
    case 'worst-class':
      return {
        requested,
        mode,
        reason,
        on: 'val worst-class accuracy',
        score: (p) => Math.min(...present(classAccuracies(p, val.labels, C))),
      };
  }
}

/**
 * CLIP zero-shot spurious values for val: each image goes to the closest value prototype (see
 * math/zeroShot.ts). When val has true spurious labels, the record says how often they agree.
 */
export function pseudoGroups(
  val: SplitData,
  d: number,
  prototypes: Float32Array[],
  prototypeWords: number[],
  valueNames: readonly string[],
): PseudoGroups | undefined {
  if (!val.clip) return undefined;
  const labels = zeroShotPredict(val.clip, val.n, prototypes, d);
  const counts = valueNames.map((value, v) => ({ value, n: labels.filter((x) => x === v).length }));
  const record: PseudoLabelRecord = { counts, prototypes: valueNames.map((value, v) => ({ value, words: prototypeWords[v] })) };
  if (val.spurious.every((v) => v >= 0)) {
    record.agreement = labels.filter((x, i) => x === val.spurious[i]).length / val.n;
    record.perValue = valueNames.map((value, v) => {
      const rows = [...val.spurious.keys()].filter((i) => val.spurious[i] === v);
      return { value, n: rows.length, agreement: rows.length ? rows.filter((i) => labels[i] === v).length / rows.length : NaN };
    });
  }
  return { labels, record };
}
