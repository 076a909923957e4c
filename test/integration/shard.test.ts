// `encode --shard I/N`: four processes at once on the small demo world fill the shared cache;
// `run` then encodes nothing and gives the same run as one process alone; the shards are
// disjoint and cover every image; the cache holds only whole entries.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { makeSmallDemo } from '../helpers/smallDemo';
import { repoRoot, tempDir } from '../helpers/paths';
import { checkCacheEntries, sameRun } from '../helpers/shards';
import { shardRecords } from '../../src/engine/api';
import type { EngineEvent } from '../../src/protocol/events';

const cli = path.join(repoRoot, 'dist', 'cli.js');
let sharded: string;
let single: string;

function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, OPENAI_API_KEY: '', ...env } });
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as EngineEvent);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, events };
}

function runDirOf(r: ReturnType<typeof runCli>): string {
  const last = r.events.at(-1);
  assert.equal(last?.type, 'result', r.stderr);
  return (last as Extract<EngineEvent, { type: 'result' }>).summary.runDir;
}

before(async () => {
  const a = tempDir('tldr-shard-a-');
  sharded = await makeSmallDemo(a);
  // the same world and models in another folder, so the single-process run has its own cold cache
  const b = tempDir('tldr-shard-b-');
  fs.cpSync(a, b, { recursive: true });
  single = path.join(b, path.basename(sharded));
});

test('encode --shard i/4 x4 at once: disjoint shards cover every image; run encodes nothing and equals a one-process run', async () => {
  const codes = await Promise.all(
    [0, 1, 2, 3].map(
      (i) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          // two shards as Slurm tasks with 1 CPU run onnxruntime on 1 thread: the vectors must not depend on it
          const env = i % 2 === 0 ? { ...process.env, SLURM_CPUS_PER_TASK: '1' } : process.env;
          const p = spawn(process.execPath, [cli, 'encode', sharded, '--shard', `${i}/4`, '--json'], { env });
          let out = '';
          let err = '';
          p.stdout.on('data', (d) => (out += d));
          p.stderr.on('data', (d) => (err += d));
          p.on('close', (code) => resolve({ code, out, err }));
        }),
    ),
  );
  for (const c of codes) assert.equal(c.code, 0, c.err);
  const last = JSON.parse(codes[0].out.trim().split('\n').at(-1)!);
  assert.equal(last.type, 'shard');
  assert.equal(last.index, 0);

  const records = shardRecords(sharded);
  assert.equal(records.length, 4);
  assert.deepEqual(
    records.map((r) => r.index),
    [0, 1, 2, 3],
  );
  const total = records[0].total;
  assert.ok(records.every((r) => r.planHash === records[0].planHash && r.total === total && r.count === 4));
  const seen = new Set<string>();
  for (const r of records) {
    assert.equal(r.paths.length, r.images);
    assert.ok(r.images >= Math.floor(total / 4) && r.images <= Math.ceil(total / 4), `shard ${r.index} holds a quarter`);
    // a cold cache: each shard encoded its own images (none was there before)
    assert.equal(r.encoded + r.cached, r.images);
    assert.ok(r.encoded > 0);
    for (const p of r.paths) {
      assert.ok(!seen.has(p), `${p} is in two shards`);
      seen.add(p);
    }
  }
  assert.equal(seen.size, total, 'the shards together hold every image');
  assert.equal(
    records.reduce((s, r) => s + r.encoded, 0),
    total,
    'every image encoded exactly once',
  );
  checkCacheEntries(path.join(path.dirname(sharded), '.tldr', 'cache'));

  const fromShards = runCli(['run', sharded, '--json']);
  assert.equal(fromShards.code, 0, fromShards.stderr);
  const one = runCli(['run', single, '--json']);
  assert.equal(one.code, 0, one.stderr);
  const a = JSON.parse(fs.readFileSync(path.join(runDirOf(fromShards), 'run.json'), 'utf8'));
  const b = JSON.parse(fs.readFileSync(path.join(runDirOf(one), 'run.json'), 'utf8'));
  assert.equal(a.counts.encoded, 0, 'the run after the shards encodes nothing');
  assert.equal(a.counts.cached, a.counts.images);
  assert.ok(b.counts.encoded > 0);
  // the caption images that are also split images make the run's count larger than the plan's unique images
  assert.ok(a.counts.images >= total);
  sameRun(runDirOf(fromShards), runDirOf(one));

  // a shard again: everything from the cache
  const again = runCli(['encode', sharded, '--shard', '2/4', '--json']);
  assert.equal(again.code, 0, again.stderr);
  const r2 = JSON.parse(again.stdout.trim().split('\n').at(-1)!);
  assert.equal(r2.encoded, 0);
  assert.equal(r2.cached, r2.images);
});

test('encode: bad --shard values and --shard slurm outside an array job are usage errors that say what to do', () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--shard', '4/4'], {}, /numbered 0 to 3/],
    [['--shard', 'two'], {}, /expected I\/N/],
    [['--shard', '0/0'], {}, /at least 1/],
    [[], {}, /needs --shard/],
    [['--shard', 'slurm'], { SLURM_ARRAY_TASK_ID: '', SLURM_ARRAY_TASK_COUNT: '' }, /SLURM_ARRAY_TASK_ID is not set/],
    [['--shard', 'slurm'], { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '' }, /SLURM_ARRAY_TASK_COUNT is not set/],
    [['--shard', 'slurm'], { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0' }, /contiguous array/],
  ];
  for (const [args, env, re] of cases) {
    const clean = { ...process.env };
    for (const k of ['SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_COUNT', 'SLURM_ARRAY_TASK_MIN']) delete clean[k];
    for (const [k, v] of Object.entries(env)) if (v) clean[k] = v;
    const r = spawnSync(process.execPath, [cli, 'encode', sharded, ...args], { encoding: 'utf8', env: clean });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack');
  }
});

test('encode --shard slurm takes its shard from the array task variables (array 1-3: task 2 is shard 1/3)', () => {
  const r = runCli(['encode', sharded, '--shard', 'slurm', '--json'], {
    SLURM_ARRAY_TASK_ID: '2',
    SLURM_ARRAY_TASK_COUNT: '3',
    SLURM_ARRAY_TASK_MIN: '1',
  });
  assert.equal(r.code, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(last.index, 1);
  assert.equal(last.count, 3);
});

test('slurm --dry-run prints both job scripts (this Node and CLI by absolute path, the array, afterok); without sbatch, a clear error', () => {
  const dry = runCli(['slurm', sharded, '--tasks', '3', '--partition', 'cpu', '--time', '1:00:00', '--cpus-per-task', '2', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  for (const line of [
    '#SBATCH --array=0-2',
    '#SBATCH --partition=cpu',
    '#SBATCH --time=1:00:00',
    '#SBATCH --cpus-per-task=2',
    '#SBATCH --kill-on-invalid-dep=yes',
    `exec '${process.execPath}' '${cli}' encode '${sharded}' --shard slurm`,
    `exec '${process.execPath}' '${cli}' run '${sharded}'`,
    '--dependency=afterok:',
  ])
    assert.ok(dry.stdout.includes(line), `${line} in\n${dry.stdout}`);
  assert.ok(!fs.existsSync(path.join(path.dirname(sharded), '.tldr', 'slurm')), 'a dry run writes nothing');

  const bad = runCli(['slurm', sharded, '--tasks', '0', '--dry-run']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--tasks 0: give a whole number/);

  const none = spawnSync(process.execPath, [cli, 'slurm', sharded, '--tasks', '2'], {
    encoding: 'utf8',
    env: { ...process.env, PATH: path.join(path.dirname(sharded), 'no-such-bin') },
  });
  assert.equal(none.status, 2, none.stderr);
  assert.match(none.stderr, /sbatch was not found on PATH/);
});
