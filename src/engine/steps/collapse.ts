// A degenerate last layer: one class predicted for nearly every image, or a class the head
// (almost) never gets right. Such a head can still score well on an average, so it is looked
// for explicitly, reported, and passed over in selection when another candidate is sound.

/** A head predicting one class for at least this share of the images has collapsed (unless the images really are that class). */
export const COLLAPSE_SHARE = 0.95;
/** A class with at least COLLAPSE_MIN_ROWS labelled images and accuracy at or below this is lost. */
export const COLLAPSE_CLASS_ACCURACY = 0.05;
const COLLAPSE_MIN_ROWS = 5;

/** What is degenerate about these predictions, in words; undefined when nothing is. */
export function collapseOf(pred: Int32Array, labels: Int32Array | undefined, classNames: readonly string[]): string | undefined {
  const C = classNames.length;
  const n = pred.length;
  if (n === 0) return undefined;
  const predicted = new Float64Array(C);
  for (const p of pred) predicted[p]++;
  const top = predicted.indexOf(Math.max(...predicted));
  const labelled = labels ? labels.filter((y) => y >= 0) : new Int32Array();
  const trueShare = labelled.length ? labelled.filter((y) => y === top).length / labelled.length : 0;
  if (predicted[top] / n >= COLLAPSE_SHARE && trueShare < COLLAPSE_SHARE)
    return `it predicts "${classNames[top]}" for ${((100 * predicted[top]) / n).toFixed(0)}% of the images`;
  if (labels) {
    for (let c = 0; c < C; c++) {
      const rows = [...labels.keys()].filter((i) => labels[i] === c);
      if (rows.length < COLLAPSE_MIN_ROWS) continue;
      const acc = rows.filter((i) => pred[i] === c).length / rows.length;
      if (acc <= COLLAPSE_CLASS_ACCURACY) return `it gets ${(100 * acc).toFixed(0)}% of the ${rows.length} "${classNames[c]}" images right`;
    }
  }
  return undefined;
}
