import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupCounts, headMetrics } from '../../../src/engine/math/metrics';

const i32 = (a: number[]) => Int32Array.from(a);
const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

// 2 classes x 2 backgrounds. Groups on this split (n, correct):
//   (land, land) 4, 4   (land, water) 2, 1   (water, land) 2, 0   (water, water) 2, 2
const labels = i32([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
const spur = i32([0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
const preds = i32([0, 0, 0, 0, 0, 1, 0, 0, 1, 1]);
const classes = ['landbird', 'waterbird'];
const places = ['land', 'water'];
const waterbirdsTrain = [3498, 184, 56, 1057];

test('per-group, worst-group, train-weighted, class-balanced and overall accuracy', () => {
  const m = headMetrics(preds, labels, spur, classes, places, waterbirdsTrain);
  assert.deepEqual(m.groups, [
    { label: 'landbird', spurious: 'land', n: 4, accuracy: 1 },
    { label: 'landbird', spurious: 'water', n: 2, accuracy: 0.5 },
    { label: 'waterbird', spurious: 'land', n: 2, accuracy: 0 },
    { label: 'waterbird', spurious: 'water', n: 2, accuracy: 1 },
  ]);
  near(m.worstGroup, 0);
  near(m.average, (3498 * 1 + 184 * 0.5 + 56 * 0 + 1057 * 1) / 4795);
  near(m.classBalanced, (5 / 6 + 2 / 4) / 2);
  near(m.overall, 7 / 10);
});

test('without train counts the average uses the split mix, i.e. overall accuracy', () => {
  const m = headMetrics(preds, labels, spur, classes, places);
  near(m.average, 7 / 10);
  near(m.average, m.overall);
});

test('empty groups get NaN, are skipped by worst and average, and unknown spurious rows only count overall', () => {
  // no (water, land) example; one row without a group label (-1), predicted wrong
  const m = headMetrics(i32([0, 1, 1, 1, 0]), i32([0, 0, 1, 1, 1]), i32([0, 1, 1, 1, -1]), classes, places, waterbirdsTrain);
  assert.deepEqual(
    m.groups.map((g) => g.n),
    [1, 1, 0, 2],
  );
  assert.ok(Number.isNaN(m.groups[2].accuracy));
  near(m.worstGroup, 0); // (land, water) predicted as water
  near(m.average, (3498 * 1 + 184 * 0 + 1057 * 1) / (3498 + 184 + 1057));
  near(m.classBalanced, (1 / 2 + 2 / 3) / 2);
  near(m.overall, 3 / 5);
});

test('groupCounts matches the layout headMetrics expects and inputs are validated', () => {
  assert.deepEqual([...groupCounts(labels, spur, 2, 2)], [4, 2, 2, 2]);
  assert.throws(() => headMetrics(i32([0]), i32([2]), i32([0]), classes, places), /label 2 is outside/);
  assert.throws(() => headMetrics(i32([0]), i32([0]), i32([0]), classes, places, [1, 2, 3]), /expected 2 x 2/);
});
