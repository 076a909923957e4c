// Group metrics as the reference evaluator (evaluate/evaluator.py, utils/logger.py): a group is
// (class, spurious value); worst-group = min over groups present; average = group accuracies
// weighted by the TRAIN split's group shares (not the evaluated split's mix); class-balanced =
// mean over classes of each class's accuracy.

import type { GroupMetric, HeadMetrics } from '../../protocol/events';

/** Rows per (class, spurious) group, row-major by class: index = label * spurious count + spurious. Rows with spurious < 0 (unknown) are skipped. */
export function groupCounts(labels: Int32Array, spurious: Int32Array, classes: number, spuriousValues: number): Float64Array {
  const counts = new Float64Array(classes * spuriousValues);
  for (let i = 0; i < labels.length; i++) {
    const s = spurious[i];
    if (s < 0) continue;
    checkRange(labels[i], classes, 'label', i);
    checkRange(s, spuriousValues, 'spurious value', i);
    counts[labels[i] * spuriousValues + s]++;
  }
  return counts;
}

function checkRange(v: number, size: number, what: string, row: number): void {
  if (!(v >= 0 && v < size)) throw new Error(`Row ${row}: ${what} ${v} is outside 0..${size - 1}.`);
}

/**
 * Metrics of one head on one split. `spurious[i] < 0` marks a row without a group label: it
 * counts for overall and class-balanced accuracy but for no group. `trainGroupCounts` (layout of
 * `groupCounts`) gives the weights of the average; without it (or when no present group has
 * train weight) the split's own mix is used. Groups with n = 0 get accuracy NaN and take no part
 * in the worst group or the average (the remaining weights are renormalised).
 */
export function headMetrics(
  predictions: Int32Array,
  labels: Int32Array,
  spurious: Int32Array,
  classNames: readonly string[],
  spuriousNames: readonly string[],
  trainGroupCounts?: ArrayLike<number> | null,
): HeadMetrics {
  const C = classNames.length;
  const S = spuriousNames.length;
  const n = labels.length;
  if (predictions.length !== n || spurious.length !== n) {
    throw new Error(`headMetrics: ${predictions.length} predictions, ${n} labels and ${spurious.length} spurious values must match.`);
  }
  if (trainGroupCounts && trainGroupCounts.length !== C * S) {
    throw new Error(`headMetrics: train group counts have ${trainGroupCounts.length} entries, expected ${C} x ${S}.`);
  }
  const total = new Float64Array(C * S);
  const correct = new Float64Array(C * S);
  const classTotal = new Float64Array(C);
  const classCorrect = new Float64Array(C);
  let allCorrect = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    checkRange(y, C, 'label', i);
    const ok = predictions[i] === y ? 1 : 0;
    allCorrect += ok;
    classTotal[y]++;
    classCorrect[y] += ok;
    const s = spurious[i];
    if (s < 0) continue;
    checkRange(s, S, 'spurious value', i);
    total[y * S + s]++;
    correct[y * S + s] += ok;
  }

  const groups: GroupMetric[] = [];
  let worst = Infinity;
  let weighted = 0,
    weightSum = 0;
  let averageOver: HeadMetrics['averageOver'] = trainGroupCounts ? 'train-mix' : 'split-mix';
  for (let c = 0; c < C; c++) {
    for (let s = 0; s < S; s++) {
      const g = c * S + s;
      const accuracy = total[g] > 0 ? correct[g] / total[g] : NaN;
      groups.push({ label: classNames[c], spurious: spuriousNames[s], n: total[g], accuracy });
      if (total[g] === 0) continue;
      worst = Math.min(worst, accuracy);
      const w = trainGroupCounts ? trainGroupCounts[g] : total[g];
      weighted += w * accuracy;
      weightSum += w;
    }
  }
  if (weightSum === 0) {
    // no train weight on any present group: the split's own mix
    averageOver = 'split-mix';
    weighted = 0;
    for (let g = 0; g < C * S; g++) {
      weighted += correct[g];
      weightSum += total[g];
    }
  }

  let cb = 0,
    present = 0;
  for (let c = 0; c < C; c++) {
    if (classTotal[c] === 0) continue;
    cb += classCorrect[c] / classTotal[c];
    present++;
  }
  return {
    groups,
    worstGroup: worst === Infinity ? NaN : worst,
    average: weightSum > 0 ? weighted / weightSum : NaN,
    averageOver,
    classBalanced: present > 0 ? cb / present : NaN,
    overall: n > 0 ? allCorrect / n : NaN,
  };
}
