// The `slurm-overhead` row of bench/run.mjs: wall time of `tldr-debias slurm --tasks 4` (4 encode
// array tasks, then the run job) against one `tldr-debias run` process on the same images (the
// small demo world, two copies with cold caches), on a real single-node Slurm started as
// test/slurm/ does. Not expected to be faster on one machine: the row shows the scheduling cost.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export async function slurmOverheadRow(root, row, skipped) {
  const id = 'slurm-overhead';
  const what = 'tldr-debias slurm --tasks 4 (4 encode tasks, then the run job) vs one tldr-debias run, small demo world, cold caches';
  const out = (...p) => path.join(root, 'out', ...p);
  const cluster = require(out('test', 'slurm', 'cluster.js'));
  const why = cluster.unavailable();
  if (why) return skipped(id, what, why);
  const { makeSmallDemo } = require(out('test', 'helpers', 'smallDemo.js'));
  const { jobRun, slurmQueue } = require(out('src', 'engine', 'api.js'));
  const cli = out('src', 'cli', 'main.js');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tldr-bench-slurm-'));
  const c = await cluster.startCluster();
  try {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    const exp = await makeSmallDemo(a);
    fs.cpSync(a, b, { recursive: true });
    const single = path.join(b, path.basename(exp));

    let t = performance.now();
    const one = spawnSync(process.execPath, [cli, 'run', single, '--json'], { encoding: 'utf8', env: process.env });
    if (one.status !== 0) throw new Error(`one-process run failed: ${one.stderr}`);
    const oneSeconds = (performance.now() - t) / 1000;
    const result = JSON.parse(one.stdout.trim().split('\n').at(-1));
    const counts = JSON.parse(fs.readFileSync(path.join(result.summary.runDir, 'run.json'), 'utf8')).counts;

    t = performance.now();
    const sub = spawnSync(process.execPath, [cli, 'slurm', exp, '--tasks', '4', '--json'], { encoding: 'utf8', env: c.env });
    if (sub.status !== 0) throw new Error(`slurm submit failed: ${sub.stderr}`);
    const s = JSON.parse(sub.stdout.trim().split('\n').at(-1));
    const until = Date.now() + 15 * 60_000;
    for (;;) {
      const run = jobRun(exp, s.runJobId);
      if (run && run.status !== 'running') {
        if (run.status !== 'succeeded') throw new Error(`the run job's run ${run.status}; logs in ${s.dir}`);
        break;
      }
      if (!run && !(await slurmQueue([s.arrayJobId, s.runJobId], c.env)).length)
        throw new Error(`the jobs ended without a run; logs in ${s.dir}`);
      if (Date.now() > until) throw new Error('the Slurm jobs did not finish within 15 minutes');
      await new Promise((r) => setTimeout(r, 200));
    }
    const slurmSeconds = (performance.now() - t) / 1000;
    row({
      id,
      what: `${what}: ${counts.images} image rows (${counts.encoded} encoded by the one process), ${os.cpus().length} cores, 1 CPU per task; value = submit to the run job's run.json ended, reference = the one process's wall time; ratio = Slurm / one process`,
      value: Number(slurmSeconds.toPrecision(3)),
      unit: 's',
      reference: Number(oneSeconds.toPrecision(3)),
      ratio: Number((slurmSeconds / oneSeconds).toPrecision(3)),
      target: 'reported',
      met: null,
    });
  } finally {
    c.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
