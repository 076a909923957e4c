// The tree's line for a Slurm submission, from squeue's lines and the run job's run.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slurmView, taskCount } from '../../../src/extension/tree/slurmModel';
import type { SlurmSubmissionInfo } from '../../../src/protocol/worker';

const sub: SlurmSubmissionInfo = {
  id: 's',
  experiment: '/w/demo.tldr.json',
  dir: '/w/.tldr/slurm/s',
  tasks: 8,
  arrayJobId: '120',
  runJobId: '121',
  logs: { encode: ['/w/.tldr/slurm/s/encode-120_0.out'], run: '/w/.tldr/slurm/s/run-121.out' },
  submittedAt: '2026-12-02T21:00:00Z',
};

test('taskCount: squeue ids for one task, ranges, lists, steps and the % limit', () => {
  assert.equal(taskCount('120_3'), 1);
  assert.equal(taskCount('121'), 1);
  assert.equal(taskCount('120_[4-7]'), 4);
  assert.equal(taskCount('120_[2,5-7]'), 4);
  assert.equal(taskCount('120_[0-7%2]'), 8);
  assert.equal(taskCount('120_[0-6:2]'), 4);
});

test('slurmView: counts of done, running and pending tasks; the run job waiting on its dependency; the end', () => {
  assert.equal(slurmView(sub, undefined).description, 'submitted, 8 tasks');
  const mid = slurmView(sub, {
    queue: [
      { id: '120_[5-7]', state: 'PENDING', reason: 'Resources' },
      { id: '120_3', state: 'RUNNING', reason: 'None' },
      { id: '120_4', state: 'RUNNING', reason: 'None' },
      { id: '121', state: 'PENDING', reason: 'Dependency' },
    ],
  });
  assert.equal(mid.description, 'encode 3/8 done, 2 running, 3 pending, run pending (Dependency)');
  assert.ok(mid.active);

  const running = slurmView(sub, {
    queue: [{ id: '121', state: 'RUNNING', reason: 'None' }],
    run: { runDir: '/w/.tldr/runs/r', status: 'running' },
  });
  assert.equal(running.description, 'encode 8/8 done, run running');
  assert.ok(running.active);

  const done = slurmView(sub, { queue: [], run: { runDir: '/w/.tldr/runs/r', status: 'succeeded' } });
  assert.deepEqual([done.description, done.active, done.outcome], ['run succeeded', false, 'succeeded']);

  // a shard failed: the run job was cancelled (kill-on-invalid-dep) and never wrote a run.json
  const failed = slurmView(sub, { queue: [] });
  assert.deepEqual([failed.active, failed.outcome], [false, 'ended-without-run']);
  assert.match(failed.tooltip, /run-121\.out/);

  // the run job is gone but its record still says running: it died
  const died = slurmView(sub, { queue: [], run: { runDir: '/w/.tldr/runs/r', status: 'running' } });
  assert.deepEqual([died.active, died.outcome], [false, 'failed']);
});
