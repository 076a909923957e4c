// The val scores that choose a candidate, the plan settings.selection resolves to, CLIP's
// pseudo spurious labels, and what counts as a collapsed head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classAccuracies, planSelection, pseudoGroups, worstGroupAccuracy } from '../../../src/engine/steps/selection';
import { collapseOf } from '../../../src/engine/steps/collapse';
import { prototype, zeroShotPredict } from '../../../src/engine/math/zeroShot';
import { parseExperimentText } from '../../../src/experiment';
import type { SplitData } from '../../../src/engine/steps/encodeData';
import { sampleExperiment } from '../../helpers/experiment';

const i32 = (xs: number[]) => Int32Array.from(xs);
const split = (labels: number[], spurious: number[], clip?: number[][]): SplitData => ({
  name: 'val',
  n: labels.length,
  features: new Float32Array(labels.length),
  labels: i32(labels),
  spurious: i32(spurious),
  ...(clip ? { clip: Float32Array.from(clip.flat()) } : {}),
});
const experiment = (selection?: string) => {
  const e = sampleExperiment() as any;
  if (selection) e.settings = { selection };
  return parseExperimentText('/x/e.tldr.json', JSON.stringify(e));
};

test('worst-group accuracy is the lowest (class, spurious) cell present; rows without a label do not count', () => {
  // cells: (0,0) 2/2, (0,1) 1/2, (1,0) 1/1, (1,1) absent; the last row has no spurious label
  const pred = i32([0, 0, 0, 1, 1, 0]);
  const labels = i32([0, 0, 0, 0, 1, 1]);
  const spurious = i32([0, 0, 1, 1, 0, -1]);
  assert.equal(worstGroupAccuracy(pred, labels, spurious, 2, 2), 0.5);
  assert.equal(worstGroupAccuracy(i32([0, 0, 0, 0, 1, 0]), labels, spurious, 2, 2), 1, 'the unlabelled row is not a group');
  assert.deepEqual(classAccuracies(pred, labels, 2), [0.75, 0.5], 'but it counts for its class');
});

test('auto resolves to val-groups with spurious labels on every row, else to pseudo-groups; none without class labels', () => {
  const exp = experiment();
  const full = split([0, 1], [0, 1]);
  assert.equal(planSelection(exp, full, undefined).mode, 'val-groups');
  const partial = split([0, 1], [0, -1]);
  const pseudo = { labels: i32([1, 0]), record: { counts: [], prototypes: [] } };
  const p = planSelection(exp, partial, pseudo);
  assert.equal(p.mode, 'pseudo-groups');
  assert.match(p.reason, /lack spurious labels/);
  // the pseudo labels, not the partial true ones, make the groups: predicting the class everywhere scores 1
  assert.equal(p.score!(i32([0, 1])), 1);
  assert.equal(planSelection(exp, partial, undefined).mode, 'none');
  assert.equal(planSelection(exp, split([0, -1], [0, 0]), undefined).mode, 'none');
  assert.equal(planSelection(exp, undefined, undefined).mode, 'none');
});

test('class-balanced and worst-class need only class labels; val-groups without spurious labels selects nothing', () => {
  const val = split([0, 0, 1, 1], [-1, -1, -1, -1]);
  const pred = i32([0, 1, 1, 1]);
  assert.equal(planSelection(experiment('class-balanced'), val, undefined).score!(pred), 0.75);
  assert.equal(planSelection(experiment('worst-class'), val, undefined).score!(pred), 0.5);
  const vg = planSelection(experiment('val-groups'), val, undefined);
  assert.equal(vg.mode, 'none');
  assert.match(vg.reason, /4 val rows have no spurious label/);
});

test('pseudo-groups go to the closest value prototype, and agreement is reported when true labels exist', () => {
  const protos = [prototype([Float32Array.from([1, 0])], 2), prototype([Float32Array.from([0, 1]), Float32Array.from([0.2, 1])], 2)];
  const val = split(
    [0, 0, 1, 1],
    [0, 1, 1, 1],
    [
      [2, 0.1],
      [0.1, 3],
      [0.3, 0.2],
      [0.5, 4],
    ],
  );
  const g = pseudoGroups(val, 2, protos, [0, 1], ['land', 'water'])!;
  assert.deepEqual([...g.labels], [0, 1, 0, 1]);
  assert.equal(g.record.agreement, 0.75);
  assert.deepEqual(g.record.perValue, [
    { value: 'land', n: 1, agreement: 1 },
    { value: 'water', n: 3, agreement: 2 / 3 },
  ]);
  assert.deepEqual(g.record.counts, [
    { value: 'land', n: 2 },
    { value: 'water', n: 2 },
  ]);
  assert.deepEqual([...zeroShotPredict(Float32Array.from([-1, -1]), 1, protos, 2)], [0], 'ties and all-negative go to the first');
});

test('a collapsed head: one class nearly everywhere, or a class (almost) never right; a biased head is not collapsed', () => {
  const names = ['a', 'b'];
  const labels = i32([...Array(10).fill(0), ...Array(10).fill(1)]);
  assert.match(collapseOf(i32(Array(20).fill(0)), labels, names)!, /predicts "a" for 100% of the images/);
  assert.match(collapseOf(i32(Array(20).fill(0)), undefined, names)!, /predicts "a"/, 'no labels needed for the share rule');
  // 10 a, 20 b: "b" right on 2 of 20 (10%, above the 5% bound) is weak, not lost; on 1 of 20 it is lost
  const moreB = i32([...Array(10).fill(0), ...Array(20).fill(1)]);
  const bRight = (k: number) => i32([...Array(10).fill(0), ...Array(k).fill(1), ...Array(20 - k).fill(0)]);
  assert.equal(collapseOf(bRight(2), moreB, names), undefined);
  assert.match(collapseOf(bRight(1), moreB, names)!, /predicts "a" for 97%|gets 5% of the 20 "b" images right/);
  assert.match(
    collapseOf(
      i32([...Array(5).fill(1), ...Array(5).fill(1), ...Array(10).fill(1)]).map((_, i) => (i < 12 ? 1 : 0)),
      labels,
      names,
    )!,
    /gets 0% of the 10 "a" images right/,
  );
  // a head that follows the spurious value, as ERM does, is biased, not collapsed
  assert.equal(collapseOf(i32([0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1]), labels, names), undefined);
  // when the images really are one class, predicting it is right
  assert.equal(collapseOf(i32(Array(20).fill(0)), i32(Array(20).fill(0)), names), undefined);
});
