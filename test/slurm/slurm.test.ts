// `tldr-debias slurm` against a real Slurm: a single-node cluster from Debian's packages
// (cluster.ts), 4 encode tasks then the run job on the small demo world. Checks that the run
// job succeeded and read every vector from the cache, that its metrics, head and exported model
// equal a one-process run's, that the shards were disjoint and covered every image, and that the
// cache holds no torn entry. Skips, saying why, where it cannot start a cluster (not root, no apt).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { makeSmallDemo } from '../helpers/smallDemo';
import { repoRoot, tempDir } from '../helpers/paths';
import { checkCacheEntries, sameRun } from '../helpers/shards';
import { jobRun, shardRecords, slurmQueue } from '../../src/engine/api';
import type { EngineEvent } from '../../src/protocol/events';
import { jobStates, startCluster, unavailable, type Cluster } from './cluster';
import { WorkerClient } from '../../src/extension/jobs/workerClient';
import { slurmView } from '../../src/extension/tree/slurmModel';
import { slurmStatusRequest, slurmSubmitRequest } from '../../src/protocol/worker';

const cli = path.join(repoRoot, 'dist', 'cli.js');
const skip = unavailable();
/** only catches a hang: the whole array and run take well under a minute here */
const JOBS_HANG_BOUND_MS = 15 * 60_000;
let cluster: Cluster | undefined;
let exp: string;
let single: string;

function runCli(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...env, OPENAI_API_KEY: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  if (skip) return;
  cluster = await startCluster();
  const a = tempDir('tldr-slurm-a-');
  exp = await makeSmallDemo(a);
  const b = tempDir('tldr-slurm-b-');
  fs.cpSync(a, b, { recursive: true });
  single = path.join(b, path.basename(exp));
});

after(() => cluster?.stop());

test(
  'slurm --tasks 4 on a real Slurm: the run job equals a one-process run; shards disjoint and covering; no torn entry',
  { skip },
  async () => {
    const env = cluster!.env;
    const sub = runCli(['slurm', exp, '--tasks', '4', '--json'], env);
    assert.equal(sub.code, 0, sub.stderr);
    const s = JSON.parse(sub.stdout.trim().split('\n').at(-1)!);
    assert.equal(s.type, 'slurm-submitted');
    assert.match(s.arrayJobId, /^\d+$/);
    assert.match(s.runJobId, /^\d+$/);
    assert.ok(s.dir.startsWith(path.join(path.dirname(exp), '.tldr', 'slurm')));
    const script = fs.readFileSync(s.scripts.encode, 'utf8');
    assert.ok(script.includes(`'${process.execPath}' '${cli}' encode`), 'the job calls this Node and this CLI by absolute path');

    // wait until neither job is queued any more
    const until = Date.now() + JOBS_HANG_BOUND_MS;
    for (;;) {
      const q = await slurmQueue([s.arrayJobId, s.runJobId], env);
      if (!q.length) break;
      // a hang bound, not a latency: fail only when the queue never empties
      if (Date.now() >= until) throw new Error(`hang: jobs still queued after ${JOBS_HANG_BOUND_MS / 60000} min: ${JSON.stringify(q)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const logs = () =>
      [...s.logs.encode, s.logs.run]
        .map((f: string) => (fs.existsSync(f) ? `${f}:\n${fs.readFileSync(f, 'utf8')}` : `${f}: none`))
        .join('\n');
    const tasks = jobStates(s.arrayJobId, env);
    assert.equal(tasks.length, 4, JSON.stringify(tasks));
    for (const t of tasks) assert.deepEqual([t.state, t.exit], ['COMPLETED', '0:0'], `${t.id}\n${logs()}`);
    const [runJob] = jobStates(s.runJobId, env);
    assert.deepEqual([runJob.state, runJob.exit], ['COMPLETED', '0:0'], logs());
    for (const f of [...s.logs.encode, s.logs.run]) assert.ok(fs.existsSync(f), `log ${f}`);

    // the shards: one record per task, disjoint, together every image, each image encoded once
    const records = shardRecords(exp);
    assert.deepEqual(
      records.map((r) => `${r.index}/${r.count}`),
      ['0/4', '1/4', '2/4', '3/4'],
    );
    const total = records[0].total;
    const seen = new Set<string>();
    for (const r of records) {
      assert.equal(r.planHash, records[0].planHash);
      assert.ok(r.images > 0);
      for (const p of r.paths) {
        assert.ok(!seen.has(p), `${p} in two shards`);
        seen.add(p);
      }
    }
    assert.equal(seen.size, total);
    assert.equal(
      records.reduce((n, r) => n + r.encoded, 0),
      total,
    );
    checkCacheEntries(path.join(path.dirname(exp), '.tldr', 'cache'));

    // the run job's run.json (found by its job id): succeeded, nothing encoded
    const found = jobRun(exp, s.runJobId);
    assert.ok(found, `no run.json with job id ${s.runJobId}\n${logs()}`);
    assert.equal(found.status, 'succeeded');
    const runJson = JSON.parse(fs.readFileSync(path.join(found.runDir, 'run.json'), 'utf8'));
    assert.equal(runJson.counts.encoded, 0);
    assert.equal(runJson.counts.cached, runJson.counts.images);

    // the same run from one process
    const one = runCli(['run', single, '--json'], process.env);
    assert.equal(one.code, 0, one.stderr);
    const result = one.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as EngineEvent)
      .at(-1);
    assert.equal(result?.type, 'result');
    sameRun(found.runDir, (result as Extract<EngineEvent, { type: 'result' }>).summary.runDir);
  },
);

test('slurm: sbatch refusing the job (an unknown partition) is a clear error; no run job is left', { skip }, () => {
  const env = cluster!.env;
  const r = runCli(['slurm', exp, '--tasks', '2', '--partition', 'nosuchpartition'], env);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /sbatch refused .*encode\.sbatch.*--partition/s);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const q = spawnSync('squeue', ['-h', '-o', '%i %j'], { encoding: 'utf8', env });
  assert.equal(q.stdout.trim(), '', 'nothing queued');
});

test(
  'the worker (as "TLDR: Run on Slurm…" uses it): submits, and its status reaches "run succeeded" in the tree model',
  { skip },
  async () => {
    // the worker inherits the test cluster's SLURM_CONF, as the extension host's PATH and environment reach it
    const saved = process.env.SLURM_CONF;
    process.env.SLURM_CONF = cluster!.env.SLURM_CONF;
    const client = new WorkerClient(path.join(repoRoot, 'dist', 'worker.js'), () => {});
    try {
      const sub = await client.request(slurmSubmitRequest, { file: exp, tasks: 2 });
      assert.equal(sub.tasks, 2);
      const descriptions: string[] = [];
      const until = Date.now() + JOBS_HANG_BOUND_MS;
      for (;;) {
        const status = await client.request(slurmStatusRequest, { file: exp, arrayJobId: sub.arrayJobId, runJobId: sub.runJobId });
        const view = slurmView(sub, status);
        if (descriptions.at(-1) !== view.description) descriptions.push(view.description);
        if (!view.active) {
          assert.equal(view.outcome, 'succeeded', descriptions.join(' | '));
          break;
        }
        if (Date.now() >= until) throw new Error(`hang: still active after ${JOBS_HANG_BOUND_MS / 60000} min: ${descriptions.join(' | ')}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      const found = jobRun(exp, sub.runJobId);
      assert.equal(found?.status, 'succeeded');
      // the script calls the CLI bundled beside the worker
      assert.ok(fs.readFileSync(path.join(sub.dir, 'encode.sbatch'), 'utf8').includes(`'${cli}' encode`));
    } finally {
      client.dispose();
      if (saved === undefined) delete process.env.SLURM_CONF;
      else process.env.SLURM_CONF = saved;
    }
  },
);
