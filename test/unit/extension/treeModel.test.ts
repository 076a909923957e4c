import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyRunEvent,
  endLiveRun,
  experimentChildren,
  newLiveRun,
  overallPercent,
  runDescription,
} from '../../../src/extension/tree/treeModel';
import type { EngineEvent, RunRecord, RunSummary } from '../../../src/protocol/events';

const F = '/w/demo.tldr.json';
const play = (events: EngineEvent[]) => events.reduce(applyRunEvent, newLiveRun(F, '2026-01-01T00:00:00Z'));
const start: EngineEvent = {
  type: 'run-start',
  runId: 'r1',
  runDir: '/w/.tldr/runs/r1',
  experiment: F,
  steps: ['encode-images', 'gap', 'projector'],
};

const summary = (status: RunSummary['status']): RunSummary => ({
  runId: 'r1',
  runDir: '/w/.tldr/runs/r1',
  status,
  metrics: {
    val: {
      erm: { groups: [], worstGroup: 0.5, average: 0.8, averageOver: 'train-mix' as const, classBalanced: 0.7, overall: 0.8 },
      tldr: { groups: [], worstGroup: 0.6, average: 0.8, averageOver: 'train-mix' as const, classBalanced: 0.7, overall: 0.8 },
    },
    test: {
      erm: { groups: [], worstGroup: 0.634, average: 0.9, averageOver: 'train-mix' as const, classBalanced: 0.8, overall: 0.9 },
      tldr: { groups: [], worstGroup: 0.8866, average: 0.9, averageOver: 'train-mix' as const, classBalanced: 0.9, overall: 0.9 },
    },
  },
});

test('steps go pending -> running n% -> done', () => {
  const run = play([
    start,
    { type: 'step-start', step: 'encode-images' },
    { type: 'progress', step: 'encode-images', done: 42, total: 100 },
  ]);
  const nodes = experimentChildren(F, run, []);
  const steps = nodes.filter((n) => n.kind === 'step');
  assert.deepEqual(
    steps.map((n) => [n.label, n.description]),
    [
      ['Encode images', 'running 42%'],
      ['Modality gap', 'pending'],
      ['Projector', 'pending'],
    ],
  );
  const done = applyRunEvent(run, { type: 'step-end', step: 'encode-images', status: 'done', seconds: 1 });
  assert.equal(experimentChildren(F, done, [])[0]!.description, 'done');
  assert.equal(Math.round(overallPercent(done)), 33);
});

test('the running run is listed with its overall percent', () => {
  const run = play([start, { type: 'step-start', step: 'encode-images' }]);
  const runNode = experimentChildren(F, run, []).find((n) => n.kind === 'run')!;
  assert.equal(runNode.label, 'run r1');
  assert.equal(runNode.description, 'running 0%');
});

test('a finished run shows worst-group ERM -> TLDR on test, one decimal', () => {
  const run = play([start, { type: 'result', summary: summary('succeeded') }]);
  const runNode = experimentChildren(F, run, []).find((n) => n.kind === 'run')!;
  assert.equal(runNode.description, 'worst-group 63.4% → 88.7%');
});

test('val is used when there is no test split; failed and cancelled runs say so', () => {
  const rec: RunRecord = { runId: 'r0', runDir: '/r0', experiment: F, startedAt: 't', status: 'cancelled' };
  assert.equal(runDescription(rec), 'cancelled');
  assert.equal(
    runDescription({ ...rec, status: 'failed', worstGroup: { split: 'val', erm: 0.5, tldr: 0.75 } }),
    'worst-group 50.0% → 75.0% · failed',
  );
  assert.equal(runDescription({ ...rec, status: 'succeeded' }), 'succeeded');
});

test('cancelling marks the step in flight and the rest cancelled, keeps done steps', () => {
  let run = play([
    start,
    { type: 'step-start', step: 'encode-images' },
    { type: 'step-end', step: 'encode-images', status: 'done', seconds: 1 },
    { type: 'step-start', step: 'gap' },
  ]);
  run = endLiveRun(run, 'cancelled');
  const nodes = experimentChildren(F, run, []);
  assert.deepEqual(
    nodes.map((n) => n.description),
    ['done', 'cancelled', 'cancelled', 'cancelled'],
  );
  assert.equal(nodes.at(-1)!.label, 'run r1');
});

test('a worker death marks the step in flight failed and the run failed even without a record on disk', () => {
  const run = endLiveRun(play([start, { type: 'step-start', step: 'encode-images' }]), 'failed', 'worker exited');
  const nodes = experimentChildren(F, run, []);
  assert.equal(nodes[0]!.description, 'failed');
  const runNode = nodes.find((n) => n.kind === 'run')!;
  assert.equal(runNode.description, 'failed');
  assert.equal(runNode.tooltip, 'worker exited');
  // ending twice does not change the first outcome
  assert.equal(endLiveRun(run, 'cancelled').status, 'failed');
});

test('past runs from disk come after the steps, newest first, and the live run replaces its own record', () => {
  const records: RunRecord[] = [
    { runId: 'r1', runDir: '/r1', experiment: F, startedAt: 't1', status: 'succeeded', worstGroup: { split: 'test', erm: 0.6, tldr: 0.9 } },
    { runId: 'r0', runDir: '/r0', experiment: F, startedAt: 't0', status: 'failed' },
  ];
  const fromDisk = experimentChildren(F, undefined, records);
  // the last run succeeded: its steps all show done
  assert.equal(fromDisk.filter((n) => n.kind === 'step').length, 8);
  assert.ok(fromDisk.filter((n) => n.kind === 'step').every((n) => n.description === 'done'));
  assert.deepEqual(
    fromDisk.filter((n) => n.kind === 'run').map((n) => [n.label, n.description]),
    [
      ['run r1', 'worst-group 60.0% → 90.0%'],
      ['run r0', 'failed'],
    ],
  );
  const live = play([{ ...start, runId: 'r2' }]);
  const withLive = experimentChildren(F, live, records).filter((n) => n.kind === 'run');
  assert.deepEqual(
    withLive.map((n) => n.label),
    ['run r2', 'run r1', 'run r0'],
  );
  // ids are unique and stable
  const ids = experimentChildren(F, live, records).map((n) => n.id);
  assert.equal(new Set(ids).size, ids.length);
});
